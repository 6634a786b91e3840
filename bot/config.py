"""Settings from the environment, with embedded defaults that need no token.

Every variable is documented in `.env.example`. Secrets that are not set are
generated once into `var/` (mode 0600) so `make run` works out of the box; with
ANTAM_ENV=production they must come from the environment (bot/secretfile.py).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from bot.secretfile import env_or_generated, private_dir

log = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _env(name: str, default: str) -> str:
    value = os.environ.get(name, "").strip()
    return value or default


def _positive(text: str, name: str) -> float:
    value = float(text)
    if value <= 0:
        raise ValueError(f"{name} must be positive")
    return value


def _secret(name: str, var_dir: Path, file_name: str) -> str:
    existed = (var_dir / file_name).exists() or os.environ.get(name, "").strip()
    value = env_or_generated(name, var_dir, file_name)
    if not existed:
        log.warning("%s is not set: generated a new one in %s (mode 0600)", name, file_name)
    return value


def bind_address() -> str:
    """Where servers listen: loopback (default, behind a reverse proxy on the same host), or
    ANTAM_BIND=0.0.0.0 inside a container whose network only the proxy and peers reach."""
    return _env("ANTAM_BIND", "127.0.0.1")


def _alphanumeric(text: str, name: str) -> str:
    if not text.isalnum():
        raise ValueError(f"{name} must be letters and digits only")
    return text


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
    log_format: str = "plain"  # or "json": one object per line, for a log pipeline
    conversation_minutes: float = 30.0  # quiet time after which Rasa forgets a conversation
    redis_url: str = ""  # shared conversations and locks for several Rasa instances
    redis_prefix: str = "antam"  # alphanumeric: Rasa's lock store refuses anything else
    rasa_instances: int = 1
    rasa_urls_override: tuple[str, ...] = ()  # ANTAM_RASA_URLS: instances on other hosts
    tracker_key: str = ""  # seals trackers kept in Redis

    @property
    def rasa_url(self) -> str:
        return self.rasa_urls[0]

    @property
    def rasa_urls(self) -> tuple[str, ...]:
        """Every Rasa instance the bot spreads turns over: instance i listens on
        ANTAM_RASA_PORT + i, unless ANTAM_RASA_URLS names them."""
        return self.rasa_urls_override or tuple(
            f"http://127.0.0.1:{self.rasa_port + i}" for i in range(self.rasa_instances))

    def actions_port_of(self, instance: int) -> int:
        """Each Rasa instance has its own action server, so neither is a single point."""
        return self.actions_port + instance

    @property
    def actions_url(self) -> str:
        return f"http://127.0.0.1:{self.actions_port}/webhook"

    @classmethod
    def from_env(cls) -> Settings:
        root = Path(_env("ANTAM_HOME", str(PROJECT_ROOT)))
        var_dir = private_dir(Path(_env("ANTAM_VAR_DIR", str(root / "var"))))
        redis_url = _env("REDIS_URL", "")
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
            log_format=_env("ANTAM_LOG_FORMAT", "plain"),
            conversation_minutes=_positive(_env("ANTAM_CONVERSATION_MINUTES", "30"),
                                           "ANTAM_CONVERSATION_MINUTES"),
            redis_url=redis_url,
            redis_prefix=_alphanumeric(_env("ANTAM_REDIS_PREFIX", "antam"),
                                       "ANTAM_REDIS_PREFIX"),
            rasa_instances=int(_positive(_env("ANTAM_RASA_INSTANCES", "1"),
                                         "ANTAM_RASA_INSTANCES")),
            rasa_urls_override=tuple(u.strip().rstrip("/") for u in
                                     _env("ANTAM_RASA_URLS", "").split(",") if u.strip()),
            tracker_key=(_secret("ANTAM_TRACKER_KEY", var_dir, "tracker.key")
                         if redis_url else ""),
        )
