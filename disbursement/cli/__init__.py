"""Command line: click lives only in this package; each command makes one library call.

`app` holds the group and the error model; `review` (review, inspect, whatif), `investors`
(requests, replies), `audit` (the audit store's queries) and `store` (audit verify, copy,
replay; decide) register their commands on it when imported here.
"""

from disbursement.cli import audit, investors, review, store
from disbursement.cli.app import cli, main

__all__ = ["audit", "cli", "investors", "main", "review", "store"]
