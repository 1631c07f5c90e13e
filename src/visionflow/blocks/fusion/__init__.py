"""fusion blocks."""
