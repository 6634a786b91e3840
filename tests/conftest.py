"""Fixtures every test folder may use: the real stack, started once per session."""

from tests.stack import stack  # noqa: F401 - a pytest fixture, shared by the folders
