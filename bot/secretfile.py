"""Secrets from the environment, or (for `make run` and tests only) generated once into
var/ with mode 0600. With ANTAM_ENV=production nothing is generated: a key written next to
the database would be stolen with it, so a missing secret stops the start instead."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path


class MissingSecret(RuntimeError):
    """A secret that production must receive from the environment is not set."""


def production() -> bool:
    return os.environ.get("ANTAM_ENV", "").strip().lower() == "production"


def private_dir(path: Path) -> Path:
    """A directory only its owner can enter (created if missing)."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.chmod(0o700)
    return path


def env_or_generated(name: str, var_dir: Path, file_name: str,
                     generate: Callable[[], str] = lambda: secrets.token_urlsafe(32)) -> str:
    """``name`` from the environment, else from var/, else newly generated there."""
    value = os.environ.get(name, "").strip()
    if value:
        return value
    if production():
        raise MissingSecret(f"{name} must be set in the environment when ANTAM_ENV=production "
                            "(it would otherwise be generated next to the database)")
    path = var_dir / file_name
    if path.exists():
        return path.read_text(encoding="ascii").strip()
    private_dir(var_dir)
    value = generate()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(value + "\n")
    return value
