"""`make train`: train the Rasa model only when something it depends on changed.

The fingerprint covers the training data, config, domain, our pipeline
components, the shared normaliser, the abbreviation lexicon and the example
questions in content/ (which the entry matcher learns), which Rasa's own cache
cannot see.
"""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

from bot.config import Settings
from bot.rasa_runtime import rasa_env, train_command
from common.content import load_content

MODEL_NAME = "antam.tar.gz"
FINGERPRINT_NAME = "fingerprint.txt"


def model_inputs(root: Path) -> list[Path]:
    nlu = root / "nlu"
    patterns = [
        (nlu, "config.yml"), (nlu, "domain.yml"),
        (nlu / "data", "**/*.yml"), (nlu / "lexicon", "**/*.yml"),
        (nlu / "components", "**/*.py"), (nlu, "entries.py"),
        (root / "common", "textnorm.py"), (root / "common" / "content", "*.py"),
    ]
    files = {p for base, pattern in patterns for p in base.glob(pattern) if p.is_file()}
    return sorted(files)


def fingerprint(root: Path) -> str:
    digest = hashlib.sha256()
    for path in model_inputs(root):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    # The entry matcher learns the example questions in content/; other content
    # edits (an answer's wording, a number) need no retraining.
    digest.update(load_content(root / "content").matcher_fingerprint().encode())
    return digest.hexdigest()


def is_up_to_date(settings: Settings) -> bool:
    stamp = settings.model_dir / FINGERPRINT_NAME
    model = settings.model_dir / MODEL_NAME
    return (model.exists() and stamp.exists()
            and stamp.read_text().strip() == fingerprint(settings.root))


def train(settings: Settings, force: bool = False) -> bool:
    """Train if needed; returns True if a model was trained."""
    if not force and is_up_to_date(settings):
        print("model is up to date: nothing the model depends on has changed")
        return False
    settings.model_dir.mkdir(parents=True, exist_ok=True)
    expected = fingerprint(settings.root)
    subprocess.run(train_command(settings), cwd=settings.root, env=rasa_env(settings),
                   check=True)
    (settings.model_dir / FINGERPRINT_NAME).write_text(expected + "\n")
    return True
