"""Operability: health, readiness and metrics of a process, with no personal data."""
