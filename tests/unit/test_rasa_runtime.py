"""The Rasa command line: a generated token may start with "-" (token_urlsafe does, 1 in 32)."""

from __future__ import annotations

import argparse
import dataclasses

from bot.config import Settings
from bot.rasa_runtime import rasa_server_command


def test_a_token_starting_with_a_dash_is_not_read_as_an_option(tmp_path, monkeypatch):
    monkeypatch.setenv("ANTAM_VAR_DIR", str(tmp_path))
    settings = dataclasses.replace(Settings.from_env(), rasa_token="-Xy_starts-with-a-dash")
    command = rasa_server_command(settings)
    # Rasa parses its options with argparse, like this parser does.
    parser = argparse.ArgumentParser()
    parser.add_argument("-t", "--auth-token")
    known, _ = parser.parse_known_args(command[2:])
    assert known.auth_token == "-Xy_starts-with-a-dash"
