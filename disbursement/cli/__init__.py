"""Command line: click lives only in this package; each command makes one library call."""

from disbursement.cli.commands import main

__all__ = ["main"]
