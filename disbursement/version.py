"""The engine version, recorded with every audited run (kept apart so any module may import it)."""

__version__ = "0.1.0"
