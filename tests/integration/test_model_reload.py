"""The retrain's last step against the real Rasa server: asked with its token, Rasa loads a
model file and answers with it; asked without, it refuses and the caller is told."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from bot.editorial.retrain import rasa_loader
from bot.training import MODEL_NAME
from tests.helpers import ROOT

pytestmark = pytest.mark.stack


def test_rasa_loads_the_model_file_it_is_given(stack):
    url = f"http://127.0.0.1:{stack.rasa_port}"
    token = stack.secret("rasa-token.key")
    model = ROOT / "nlu" / "models" / MODEL_NAME  # the model the stack runs: nothing changes
    assert asyncio.run(rasa_loader([url], "wrong-token")(model)) == ["rasa-1"]

    started = time.monotonic()
    assert asyncio.run(rasa_loader([url], token)(model)) == []
    print(f"model loaded in {time.monotonic() - started:.1f} s")
    status = httpx.get(f"{url}/status", params={"token": token}, timeout=30).json()
    assert status["model_file"].endswith(MODEL_NAME)
    [answer] = stack.chat(["cho mình xin các số điện thoại hỗ trợ"]).records
    assert answer["intent"] == "ask_hotline"  # understood: not the degraded answer
    assert "113" in " ".join(r["text"] for r in answer["replies"])
