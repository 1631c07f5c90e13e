"""formatters blocks."""
