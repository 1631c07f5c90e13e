"""transformations blocks."""
