"""The audit store: runs recorded in a hash chain, history, decisions, queries and replay."""
