"""Retraining from the workspace: the old model stays in place until the new one is whole,
then the new file replaces it in one rename and the Rasa instances are asked to load it.

The training command here is a small real process that writes a model file when the test
lets it (no timing); loading into a real Rasa is tested in
tests/integration/test_model_reload.py."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from bot.editorial.retrain import Retrainer
from bot.escalation.errors import Conflict
from bot.escalation.views import Principal
from bot.training import FINGERPRINT_NAME, MODEL_NAME, fingerprint
from tests.helpers import ROOT

REVIEWER = Principal("s-r", "reviewer", "k", "Lan")
# Waits until the test creates "go", then writes the model (or fails when told to).
TRAINER = """
import pathlib, sys, time
out, gate = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
while not gate.exists():
    time.sleep(0.01)
if gate.read_text() == "fail":
    sys.exit(3)
(out / "antam.tar.gz").write_bytes(b"new model")
"""


@pytest.fixture
def models(tmp_path: Path) -> Path:
    directory = tmp_path / "models"
    directory.mkdir()
    (directory / MODEL_NAME).write_bytes(b"old model")
    return directory


def _retrainer(models: Path, gate: Path, loaded: list[Path]) -> Retrainer:
    async def load(model: Path) -> list[str]:
        loaded.append(model)
        return []

    return Retrainer(ROOT, models, lambda out: [sys.executable, "-c", TRAINER, str(out),
                                                 str(gate)], {}, load)


async def _until(predicate) -> None:
    while not predicate():
        await asyncio.sleep(0.01)


def test_the_old_model_serves_until_the_new_one_is_whole(models: Path, tmp_path: Path):
    gate, loaded = tmp_path / "go", []
    retrainer = _retrainer(models, gate, loaded)

    async def scenario() -> None:
        status = await retrainer.start(REVIEWER)
        assert status["state"] == "training" and status["started_by"] == "Lan"
        with pytest.raises(Conflict):
            await retrainer.start(REVIEWER)  # one training at a time
        await _until(lambda: (models.parent / "models-next").exists())
        assert (models / MODEL_NAME).read_bytes() == b"old model" and not loaded
        gate.write_text("go")
        await retrainer.wait()

    asyncio.run(scenario())
    assert retrainer.status()["state"] == "done"
    assert (models / MODEL_NAME).read_bytes() == b"new model"
    assert loaded == [models / MODEL_NAME]
    assert (models / FINGERPRINT_NAME).read_text().strip() == fingerprint(ROOT)
    assert not retrainer.needed()
    assert not (models.parent / "models-next").exists()


def test_a_failed_training_leaves_the_old_model_and_says_so(models: Path, tmp_path: Path):
    gate, loaded = tmp_path / "go", []
    gate.write_text("fail")
    retrainer = _retrainer(models, gate, loaded)

    async def scenario() -> None:
        await retrainer.start(REVIEWER)
        await retrainer.wait()

    asyncio.run(scenario())
    status = retrainer.status()
    assert status["state"] == "failed" and "mã 3" in status["detail"]
    assert (models / MODEL_NAME).read_bytes() == b"old model" and not loaded
    assert status["needed"]  # no fingerprint was written
