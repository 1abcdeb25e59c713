"""The audit store: runs recorded in a hash chain (SQLite or PostgreSQL), history, decisions,
queries, replay and copy. See `store` for the map of modules."""
