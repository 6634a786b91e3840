"""How the app runtime launches programs in the separate Rasa runtime (.venv-rasa).

Rasa 3.6 needs Python 3.10 and pins libraries the app cannot share, so it is
only ever started as a subprocess and spoken to over HTTP on 127.0.0.1.
"""

from __future__ import annotations

import os
from pathlib import Path

from bot.config import Settings


def rasa_env(settings: Settings) -> dict[str, str]:
    """Environment for Rasa processes: our code importable, no telemetry, quiet TF."""
    env = dict(os.environ)
    env.update({
        "PYTHONPATH": str(settings.root),
        "RASA_TELEMETRY_ENABLED": "false",  # send no data to third parties
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
        "PYTHONWARNINGS": "ignore",
        "SANIC_HOST": "127.0.0.1",  # rasa-sdk binds 0.0.0.0 otherwise
        "ANTAM_CHANNEL_SECRET": settings.channel_secret,
        "ANTAM_ACTIONS_URL": settings.actions_url,
        "ANTAM_CONTENT_DIR": str(settings.content_dir),
        "ANTAM_CONVERSATION_MINUTES": str(settings.conversation_minutes),
    })
    return env


def _bin(settings: Settings, name: str) -> str:
    path = settings.rasa_venv / "bin" / name
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: run `make setup` first")
    return str(path)


def nlu_dir(settings: Settings) -> Path:
    return settings.root / "nlu"


def rasa_server_command(settings: Settings) -> list[str]:
    nlu = nlu_dir(settings)
    return [
        _bin(settings, "rasa"), "run",
        "--enable-api", "--interface", "127.0.0.1", "--port", str(settings.rasa_port),
        # "=" form: a token may start with "-", which argparse would take for an option.
        f"--auth-token={settings.rasa_token}",
        "--credentials", str(nlu / "credentials.yml"),
        "--endpoints", str(nlu / "endpoints.yml"),
        "--model", str(settings.model_dir),
    ]


def action_server_command(settings: Settings) -> list[str]:
    return [_bin(settings, "python"), "-m", "rasa_sdk",
            "--actions", "actions", "--port", str(settings.actions_port)]


def train_command(settings: Settings) -> list[str]:
    nlu = nlu_dir(settings)
    return [
        _bin(settings, "rasa"), "train", "--force",
        "--config", str(nlu / "config.yml"), "--domain", str(nlu / "domain.yml"),
        "--data", str(nlu / "data"), "--out", str(settings.model_dir),
        "--fixed-model-name", "antam",
    ]
