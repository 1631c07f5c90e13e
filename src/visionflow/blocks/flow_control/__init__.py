"""flow control blocks."""
