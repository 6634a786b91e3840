"""With ANTAM_ENV=production nothing secret is generated next to the database: a missing
key stops the start with one line naming it, before any service starts."""

from __future__ import annotations

import base64
import os
import stat

import pytest

from bot.cli import main
from bot.escalation.crypto import b64e
from bot.escalation.envelope import Keyring
from bot.escalation.policy import parse_admin_keys

SECRETS = {
    "ANTAM_RASA_TOKEN": "t" * 43, "ANTAM_CHANNEL_SECRET": "c" * 43,
    "ANTAM_PSEUDONYM_KEY": "p" * 43, "ANTAM_DATA_KEYS": Keyring.generate_spec("k1"),
    "ANTAM_SESSION_KEY": b64e(os.urandom(32)), "ANTAM_SIGNING_KEY": b64e(os.urandom(32)),
}


@pytest.mark.parametrize("missing", sorted(SECRETS))
def test_production_refuses_to_generate_a_missing_secret(missing, tmp_path, monkeypatch,
                                                          capsys):
    monkeypatch.setenv("ANTAM_ENV", "production")
    monkeypatch.setenv("ANTAM_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("ANTAM_MODEL_DIR", str(tmp_path))  # no model: must not get that far
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv(missing)
    assert main(["up"]) == 1
    err = capsys.readouterr().err
    assert missing in err and "production" in err and "Traceback" not in err
    assert list((tmp_path / "var").iterdir()) == []  # nothing written next to the database
    assert stat.S_IMODE((tmp_path / "var").stat().st_mode) == 0o700


def test_outside_production_secrets_are_generated_private(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("ANTAM_ENV", raising=False)
    monkeypatch.setenv("ANTAM_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("ANTAM_MODEL_DIR", str(tmp_path))
    for name in SECRETS:
        monkeypatch.delenv(name, raising=False)
    assert main(["up"]) == 1 and "no trained model" in capsys.readouterr().err
    files = list((tmp_path / "var").iterdir())
    assert {f.name for f in files} >= {"pseudonym.key", "data-keys.key", "session.key",
                                       "signing.key"}
    assert all(stat.S_IMODE(f.stat().st_mode) == 0o600 for f in files)


@pytest.mark.parametrize("spec", [
    "AAAA",  # 3 bytes
    b64e(os.urandom(32)) + "=",  # padding where the encoding has none
    base64.b64encode(os.urandom(32)).decode().replace("=", "").replace("/", "+") + "*",
    b64e(bytes(31)) + "B",  # non-zero trailing bits: another spelling of a key
])
def test_admin_keys_are_parsed_strictly(spec):
    with pytest.raises(ValueError):
        parse_admin_keys(spec)
    assert parse_admin_keys(b64e(bytes(range(32)))) == (bytes(range(32)),)


@pytest.mark.parametrize(("database", "redis", "named"), [
    ("", "redis://127.0.0.1:6379/0", "DATABASE_URL"),
    ("sqlite:////tmp/antam.db", "redis://127.0.0.1:6379/0", "DATABASE_URL"),
    ("postgresql+psycopg://antam@127.0.0.1:5432/test", "", "REDIS_URL"),
])
def test_production_refuses_sqlite_or_no_redis_before_anything_starts(
        database, redis, named, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ANTAM_ENV", "production")
    monkeypatch.setenv("ANTAM_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("ANTAM_MODEL_DIR", str(tmp_path))
    for name, value in {**SECRETS, "ANTAM_TRACKER_KEY": "r" * 43}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DATABASE_URL", database)
    monkeypatch.setenv("REDIS_URL", redis)
    assert main(["up"]) == 1
    err = capsys.readouterr().err
    assert named in err and "production" in err and "Traceback" not in err


def test_production_with_redis_needs_the_tracker_key_from_the_environment(
        tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ANTAM_ENV", "production")
    monkeypatch.setenv("ANTAM_VAR_DIR", str(tmp_path / "var"))
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/0")
    monkeypatch.delenv("ANTAM_TRACKER_KEY", raising=False)
    assert main(["up"]) == 1
    assert "ANTAM_TRACKER_KEY" in capsys.readouterr().err


def test_several_rasa_instances_without_redis_are_refused(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("ANTAM_ENV", raising=False)
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.setenv("ANTAM_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("ANTAM_RASA_INSTANCES", "2")
    assert main(["up"]) == 1
    assert "needs REDIS_URL" in capsys.readouterr().err


def test_an_unreachable_database_is_waited_for_then_refused_in_one_clear_line(
        tmp_path, monkeypatch, capsys):
    from tests.helpers import free_port

    monkeypatch.delenv("ANTAM_ENV", raising=False)
    monkeypatch.setenv("ANTAM_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("DATABASE_URL",
                       f"postgresql+psycopg://antam:pw-secret@127.0.0.1:{free_port()}/antam")
    assert main(["up", "--startup-timeout", "1"]) == 1
    err = capsys.readouterr().err
    assert err.count("the database is unreachable: waiting for it") == 1
    assert "stayed unreachable" in err and "Traceback" not in err
    assert "pw-secret" not in err, "the password is never printed"
