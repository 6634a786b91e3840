"""ANTAM_LOG_FORMAT=json: one JSON object per line, with no traceback text."""

from __future__ import annotations

import json
import logging

import pytest

from bot.ops.logs import formatter


def _record(exc_info=None) -> logging.LogRecord:
    return logging.LogRecord("bot.core", logging.WARNING, __file__, 1,
                             "degraded mode: %s", ("ReadTimeout",), exc_info)


def test_json_lines_carry_time_level_logger_and_message():
    line = json.loads(formatter("json").format(_record()))
    assert line["level"] == "WARNING" and line["logger"] == "bot.core"
    assert line["message"] == "degraded mode: ReadTimeout"
    assert line["time"].endswith("Z")


def test_an_error_is_named_by_its_type_only():
    try:
        raise ValueError("a value that might quote a person's words")
    except ValueError:
        import sys
        line = formatter("json").format(_record(sys.exc_info()))
    assert json.loads(line)["error"] == "ValueError" and "quote" not in line


def test_an_unknown_format_is_refused():
    with pytest.raises(ValueError, match="json or plain"):
        formatter("xml")


def test_the_bot_logs_json_lines_when_asked(tmp_path):
    import os
    import subprocess

    from tests.helpers import ROOT, free_port

    env = dict(os.environ, ANTAM_LOG_FORMAT="json", ANTAM_LOG_LEVEL="WARNING",
               ANTAM_VAR_DIR=str(tmp_path), ANTAM_RASA_PORT=str(free_port()))
    env.pop("DATABASE_URL", None)
    done = subprocess.run([str(ROOT / ".venv" / "bin" / "antam"), "chat", "--jsonl"],
                          input="xin chào\n", env=env, capture_output=True, text=True,
                          timeout=120, cwd=ROOT)
    logged = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    assert any(e["message"].startswith("degraded mode") for e in logged), done.stderr
    assert "xin chào" not in done.stderr
