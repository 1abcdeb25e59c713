"""Review engine for public investment disbursement rounds (kế hoạch vốn đầu tư công).

Library first: `disbursement.pipeline.run_round` is what the CLI and a notebook call.
Heavy libraries (pandas, pandera, openpyxl) are imported lazily inside the stages so that
`disbursement --help` answers fast.
"""

__version__ = "0.1.0"
