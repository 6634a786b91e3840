"""Settings from the environment, with embedded defaults that need no token.

Every variable is documented in `.env.example`. Secrets that are not set are
generated once into `var/` (mode 0600) so `make run` works out of the box.
"""

from __future__ import annotations

import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _env(name: str, default: str) -> str:
    value = os.environ.get(name, "").strip()
    return value or default


def _secret(name: str, var_dir: Path, file_name: str) -> str:
    """A secret from the environment, else from var/, else newly generated there."""
    value = os.environ.get(name, "").strip()
    if value:
        return value
    path = var_dir / file_name
    if path.exists():
        return path.read_text(encoding="ascii").strip()
    var_dir.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(value + "\n")
    log.warning("%s is not set: generated a new one in %s (mode 0600)", name, path.name)
    return value


@dataclass(frozen=True)
class Settings:
    root: Path
    var_dir: Path
    content_dir: Path
    model_dir: Path
    rasa_venv: Path
    database_url: str
    rasa_port: int
    actions_port: int
    rasa_timeout: float
    rasa_token: str
    channel_secret: str
    pseudonym_key: str
    log_level: str

    @property
    def rasa_url(self) -> str:
        return f"http://127.0.0.1:{self.rasa_port}"

    @property
    def actions_url(self) -> str:
        return f"http://127.0.0.1:{self.actions_port}/webhook"

    @classmethod
    def from_env(cls) -> Settings:
        root = Path(_env("ANTAM_HOME", str(PROJECT_ROOT)))
        var_dir = Path(_env("ANTAM_VAR_DIR", str(root / "var")))
        var_dir.mkdir(parents=True, exist_ok=True)
        return cls(
            root=root,
            var_dir=var_dir,
            content_dir=Path(_env("ANTAM_CONTENT_DIR", str(root / "content"))),
            model_dir=Path(_env("ANTAM_MODEL_DIR", str(root / "nlu" / "models"))),
            rasa_venv=Path(_env("ANTAM_RASA_VENV", str(root / ".venv-rasa"))),
            database_url=_env("DATABASE_URL", f"sqlite:///{var_dir / 'antam.db'}"),
            rasa_port=int(_env("ANTAM_RASA_PORT", "5005")),
            actions_port=int(_env("ANTAM_ACTIONS_PORT", "5055")),
            rasa_timeout=float(_env("ANTAM_RASA_TIMEOUT", "2.0")),
            rasa_token=_secret("ANTAM_RASA_TOKEN", var_dir, "rasa-token.key"),
            channel_secret=_secret("ANTAM_CHANNEL_SECRET", var_dir, "channel-secret.key"),
            pseudonym_key=_secret("ANTAM_PSEUDONYM_KEY", var_dir, "pseudonym.key"),
            log_level=_env("ANTAM_LOG_LEVEL", "INFO"),
        )
