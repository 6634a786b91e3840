"""How the app runtime launches programs in the separate Rasa runtime (.venv-rasa).

Rasa 3.6 needs Python 3.10 and pins libraries the app cannot share, so it is
only ever started as a subprocess and spoken to over HTTP on 127.0.0.1.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import unquote, urlsplit

from bot.config import Settings, bind_address

# A turn holds its conversation's lock at most this long: when an instance dies mid-turn,
# another takes the conversation over after this, not after Rasa's default minute.
TICKET_LOCK_LIFETIME_S = 10


def redis_env(redis_url: str, prefix: str) -> dict[str, str]:
    """REDIS_URL split into the fields Rasa's endpoint file takes (redis://[:pw@]host[:port][/db])."""
    parts = urlsplit(redis_url)
    if parts.scheme not in ("redis", "rediss") or not parts.hostname:
        raise ValueError("REDIS_URL must look like redis://host:6379/0")
    return {"ANTAM_REDIS_HOST": parts.hostname, "ANTAM_REDIS_PORT": str(parts.port or 6379),
            "ANTAM_REDIS_DB": parts.path.strip("/") or "0",
            "ANTAM_REDIS_PASSWORD": unquote(parts.password or ""),
            "ANTAM_REDIS_PREFIX": prefix}


def rasa_env(settings: Settings, instance: int = 0) -> dict[str, str]:
    """Environment for Rasa processes: our code importable, no telemetry, quiet TF."""
    env = dict(os.environ)
    env.update({
        "PYTHONPATH": str(settings.root),
        "RASA_TELEMETRY_ENABLED": "false",  # send no data to third parties
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
        "PYTHONWARNINGS": "ignore",
        "SANIC_HOST": bind_address(),  # rasa-sdk binds 0.0.0.0 otherwise
        "ANTAM_CHANNEL_SECRET": settings.channel_secret,
        # Its own action server; in a container set, another container's (deploy/).
        "ANTAM_ACTIONS_URL": os.environ.get("ANTAM_ACTIONS_URL", "").strip()
        or f"http://127.0.0.1:{settings.actions_port_of(instance)}/webhook",
        "ANTAM_CONTENT_DIR": str(settings.content_dir),
        "ANTAM_PREVIEW_DIR": str(settings.var_dir / "preview"),  # the workspace's preview
        "ANTAM_CONVERSATION_MINUTES": str(settings.conversation_minutes),
        "TICKET_LOCK_LIFETIME": str(TICKET_LOCK_LIFETIME_S),
    })
    if settings.redis_url:
        env.update(redis_env(settings.redis_url, settings.redis_prefix))
        env["ANTAM_TRACKER_KEY"] = settings.tracker_key
    return env


def _bin(settings: Settings, name: str) -> str:
    path = settings.rasa_venv / "bin" / name
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: run `make setup` first")
    return str(path)


def nlu_dir(settings: Settings) -> Path:
    return settings.root / "nlu"


def endpoints_file(settings: Settings) -> Path:
    """Conversations in this instance's memory, or shared through Redis when REDIS_URL is set."""
    name = "endpoints-shared.yml" if settings.redis_url else "endpoints.yml"
    return nlu_dir(settings) / name


def rasa_server_command(settings: Settings, instance: int = 0) -> list[str]:
    nlu = nlu_dir(settings)
    return [
        _bin(settings, "rasa"), "run",
        "--enable-api", "--interface", bind_address(), "--port", str(settings.rasa_port + instance),
        # "=" form: a token may start with "-", which argparse would take for an option.
        f"--auth-token={settings.rasa_token}",
        "--credentials", str(nlu / "credentials.yml"),
        "--endpoints", str(endpoints_file(settings)),
        "--model", str(settings.model_dir),
    ]


def action_server_command(settings: Settings, instance: int = 0) -> list[str]:
    return [_bin(settings, "python"), "-m", "rasa_sdk",
            "--actions", "actions", "--port", str(settings.actions_port_of(instance))]


def train_command(settings: Settings, out: Path | None = None) -> list[str]:
    """``out``: where the model goes (the workspace's retrain writes beside the live one)."""
    nlu = nlu_dir(settings)
    return [
        _bin(settings, "rasa"), "train", "--force",
        "--config", str(nlu / "config.yml"), "--domain", str(nlu / "domain.yml"),
        "--data", str(nlu / "data"), "--out", str(out or settings.model_dir),
        "--fixed-model-name", "antam",
    ]
