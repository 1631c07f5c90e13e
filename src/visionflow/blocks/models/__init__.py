"""models blocks."""
