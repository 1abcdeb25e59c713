"""Reallocation: recall from flagged lines, allocate by legal priority, overrides, what-if (pure)."""
