"""The counselor client's local side: key files, passphrases and refusals before any call."""

from __future__ import annotations

import base64
import stat
from pathlib import Path

import pytest

from bot.counselor.cli import main
from bot.counselor.keystore import Keystore, default_kdf, resolve_home
from bot.escalation.crypto import KDF_PARAMS, PrivateIdentity, WrongPassphrase, b64e

FAST_KDF = {"name": "argon2id", "iterations": 1, "lanes": 1, "memory_cost": 8192}
PASSPHRASE = "một mật khẩu đủ dài 42"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _spellings(raw: bytes) -> list[bytes]:
    return [raw, raw.hex().encode(), raw.hex().upper().encode(), b64e(raw).encode(),
            base64.b64encode(raw).rstrip(b"=")]


@pytest.fixture(autouse=True)
def _passphrase(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTAM_COUNSELOR_PASSPHRASE", PASSPHRASE)
    monkeypatch.delenv("ANTAM_COUNSELOR_HOME", raising=False)


def test_key_files_hold_no_raw_private_key_and_only_the_owner_reads_them(tmp_path: Path):
    store = Keystore(tmp_path / "home", FAST_KDF)
    identity = PrivateIdentity.generate()
    stored = store.add_identity(identity, PASSPHRASE, "counselor")
    store.save_config(server="https://example.org", admin_keys=[])
    store.save_session("token", "2999-01-01T00:00:00Z", stored.key_id, "counselor")
    assert main(["admin", "init", "--home", str(tmp_path / "home")], kdf=FAST_KDF) == 0
    admin = store.identities("admin")[0].unlock(PASSPHRASE)

    assert _mode(store.home) == 0o700 and _mode(store.home / "identities") == 0o700
    files = [p for p in store.home.rglob("*") if p.is_file()]
    assert len(files) == 4 and all(_mode(p) == 0o600 for p in files)
    for person in (identity, admin):
        for key in (person.x25519, person.ed25519):
            raw = key.private_bytes_raw()
            for path in files:
                data = path.read_bytes()
                assert not any(spelling in data for spelling in _spellings(raw)), path.name
    assert store.identities("counselor")[0].unlock(PASSPHRASE).public() == identity.public()
    with pytest.raises(WrongPassphrase):
        store.identities("counselor")[0].unlock("không phải mật khẩu này")


def test_identities_newest_first_and_kinds_kept_apart(tmp_path: Path):
    store = Keystore(tmp_path, FAST_KDF)
    older = store.add_identity(PrivateIdentity.generate(), PASSPHRASE, "counselor")
    newer = store.add_identity(PrivateIdentity.generate(), PASSPHRASE, "counselor")
    assert [s.key_id for s in store.identities("counselor")] == [newer.key_id, older.key_id]
    assert store.identities("admin") == []


def test_production_kdf_stays_strong():
    kdf = default_kdf()
    if kdf["name"] == "argon2id":
        assert kdf == KDF_PARAMS and kdf["memory_cost"] >= 65536 and kdf["iterations"] >= 3
    else:
        assert kdf["n"] >= 2**17


def test_home_comes_from_option_then_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    assert resolve_home(None) == Path("~/.config/antam-counselor").expanduser()
    monkeypatch.setenv("ANTAM_COUNSELOR_HOME", str(tmp_path / "env"))
    assert resolve_home(None) == tmp_path / "env"
    assert resolve_home(str(tmp_path / "opt")) == tmp_path / "opt"


def _run(capsys: pytest.CaptureFixture, *argv: str) -> tuple[int, str]:
    code = main(list(argv), kdf=FAST_KDF)
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, err


def test_local_refusals_are_vietnamese_one_liners(tmp_path: Path, capsys: pytest.CaptureFixture,
                                                   monkeypatch: pytest.MonkeyPatch):
    server_key = b64e(PrivateIdentity.generate().public().ed25519)
    home = ("--home", str(tmp_path), f"--server-key={server_key}", "--alias=Mai")
    key = f"--admin-key={b64e(PrivateIdentity.generate().public().ed25519)}"
    code, err = _run(capsys, "counselor", "init", "--server", "http://example.org",
                     "--code=x", key, *home)
    assert code == 2 and "https://" in err
    code, err = _run(capsys, "counselor", "init", "--server", "https://example.org",
                     "--code=x", "--admin-key=abc", *home)
    assert code == 2 and "Khóa quản trị hoặc khóa máy chủ không hợp lệ" in err
    monkeypatch.setenv("ANTAM_COUNSELOR_PASSPHRASE", "ngắn")
    code, err = _run(capsys, "counselor", "init", "--server", "https://example.org",
                     "--code=x", key, *home)
    assert code == 2 and "ít nhất 12 ký tự" in err
    assert not list(tmp_path.glob("identities/*.json"))  # nothing kept from a refused init
    code, err = _run(capsys, "counselor", "queue", *home[:2])
    assert code == 2 and "chưa đăng nhập" in err
    code, err = _run(capsys, "counselor", "login", *home[:2])
    assert code == 2 and "antam counselor init" in err
    monkeypatch.setenv("ANTAM_COUNSELOR_PASSPHRASE", PASSPHRASE)
    code, err = _run(capsys, "counselor", "init", "--server", "https://127.0.0.1:9",
                     "--code=x", key, *home)
    assert code == 1 and "không kết nối được" in err
    assert not list(tmp_path.glob("identities/*.json"))


def test_antam_dispatches_counselor_commands_without_server_settings(tmp_path: Path,
                                                                     capsys):
    from bot.cli import main as antam

    assert antam(["counselor", "queue", "--home", str(tmp_path)]) == 2
    assert "chưa đăng nhập" in capsys.readouterr().err


def test_trust_admin_replaces_the_pinned_keys_only_for_the_key_owner(tmp_path: Path,
                                                                     monkeypatch):
    home = tmp_path / "home"
    store = Keystore(home, FAST_KDF)
    store.add_identity(PrivateIdentity.generate(), PASSPHRASE, "counselor")
    old, new = PrivateIdentity.generate(), PrivateIdentity.generate()
    store.save_config(server="https://example.org", admin_keys=[b64e(old.public().ed25519)])
    args = ["counselor", "trust-admin", "--home", str(home)]
    assert main([*args, "--admin-key=not-a-key"], kdf=FAST_KDF) != 0
    monkeypatch.setenv("ANTAM_COUNSELOR_PASSPHRASE", "không phải mật khẩu này")
    assert main([*args, f"--admin-key={b64e(new.public().ed25519)}"], kdf=FAST_KDF) != 0
    assert store.config()["admin_keys"] == [b64e(old.public().ed25519)]
    monkeypatch.setenv("ANTAM_COUNSELOR_PASSPHRASE", PASSPHRASE)
    assert main([*args, f"--admin-key={b64e(new.public().ed25519)}"], kdf=FAST_KDF) == 0
    assert store.config()["admin_keys"] == [b64e(new.public().ed25519)]
