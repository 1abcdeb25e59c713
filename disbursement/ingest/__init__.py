"""Ingest: read workbooks, understand their headers and rows, normalise to the canonical plan table."""
