"""classical cv blocks."""
