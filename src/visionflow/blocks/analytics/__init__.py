"""analytics blocks."""
