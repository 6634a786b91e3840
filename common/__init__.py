"""Code that both runtimes import: the app (Python 3.11) and Rasa (Python 3.10).

Keep it to the standard library and PyYAML, with syntax that Python 3.10 runs:
Rasa's environment pins pydantic 1 and SQLAlchemy 1.4, so nothing here may
depend on either.
"""
