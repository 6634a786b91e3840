"""Refusals of the escalation service: ``status`` and ``code`` are what the API answers."""

from __future__ import annotations


class EscalationError(Exception):
    """A refused request."""

    status = 400
    code = "bad_request"


class Unauthorized(EscalationError):
    status, code = 401, "unauthorized"


class Forbidden(EscalationError):
    status, code = 403, "forbidden"


class NotFound(EscalationError):
    status, code = 404, "not_found"


class Conflict(EscalationError):
    status, code = 409, "conflict"


class TooManyRequests(EscalationError):
    status, code = 429, "too_many_requests"


class NoCounselors(EscalationError):
    status, code = 503, "no_counselors"
