"""Neural trainer tests (a package, so tests can import the conftest helpers)."""
