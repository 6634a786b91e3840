"""Rasa-side code (runs in the Python 3.10 Rasa runtime): NLU components and the input channel."""
