"""Rasa custom actions (Python 3.10 runtime, rasa-sdk 3.6).

Every reply comes from content/ through common.content; one module per feature.
This package must not import ``bot`` (the app runtime).
"""
