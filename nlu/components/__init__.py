"""Custom Rasa graph components (Python 3.10 runtime)."""
