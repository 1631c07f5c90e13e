"""visualizations blocks."""
