"""Escalation to human counselors: cases only counselors can read."""
