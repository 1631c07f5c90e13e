"""sinks blocks."""
