"""Logs as plain lines for people, or one JSON object per line for a log pipeline
(ANTAM_LOG_FORMAT=json). Either way they carry no message text or identifier: the
code that logs never passes one (docs/architecture.md)."""

from __future__ import annotations

import json
import logging
import time

PLAIN = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {"time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
                 + f".{int(record.msecs):03d}Z",
                 "level": record.levelname, "logger": record.name,
                 "message": record.getMessage()}
        if record.exc_info:
            entry["error"] = record.exc_info[0].__name__  # the type only, as in plain logs
        return json.dumps(entry, ensure_ascii=False)


def formatter(fmt: str) -> logging.Formatter:
    """``fmt``: "json" or "plain"."""
    if fmt not in ("json", "plain"):
        raise ValueError(f"ANTAM_LOG_FORMAT must be json or plain, not {fmt!r}")
    return JsonFormatter() if fmt == "json" else logging.Formatter(PLAIN)
