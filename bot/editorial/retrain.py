"""Retraining after editors changed what the model learns (the entries' example questions).

Training runs as its own process into a separate directory while the old model keeps
serving. The new model then replaces the old file in one rename, and each Rasa instance
is asked to load it (``PUT /model``); Rasa swaps models only once the new one has
loaded, so every message in between is answered by the old one.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import shutil
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

import httpx

from bot.escalation.errors import Conflict
from bot.escalation.views import Principal
from bot.training import FINGERPRINT_NAME, MODEL_NAME, fingerprint

log = logging.getLogger(__name__)

Loader = Callable[[Path], Awaitable[list[str]]]  # returns the instances that failed


class Retrainer:
    def __init__(self, root: Path, model_dir: Path, command: Callable[[Path], Sequence[str]],
                 env: dict[str, str], load: Loader,
                 clock: Callable[[], dt.datetime] = dt.datetime.utcnow):
        self._root = root
        self._models = model_dir
        self._command = command  # the training command writing into the given directory
        self._env = env
        self._load = load
        self._clock = clock
        self._task: asyncio.Task | None = None
        self.state = "idle"  # idle | training | loading | done | failed
        self.detail = ""
        self.started_at: dt.datetime | None = None
        self.finished_at: dt.datetime | None = None
        self.started_by = ""

    def needed(self) -> bool:
        stamp = self._models / FINGERPRINT_NAME
        try:
            return stamp.read_text().strip() != fingerprint(self._root)
        except (FileNotFoundError, ValueError):
            return True
        except Exception:  # content that does not load: the desk reports it
            return False

    def status(self) -> dict:
        def iso(value: dt.datetime | None) -> str | None:
            return value.isoformat() + "Z" if value else None
        return {"state": self.state, "detail": self.detail, "needed": self.needed(),
                "started_at": iso(self.started_at), "finished_at": iso(self.finished_at),
                "started_by": self.started_by}

    async def start(self, who: Principal) -> dict:
        if self._task is not None and not self._task.done():
            raise Conflict("Mô hình đang được huấn luyện.")
        self.state, self.detail, self.started_by = "training", "", who.display_name
        self.started_at, self.finished_at = self._clock(), None
        self._task = asyncio.ensure_future(self._run())
        return self.status()

    async def wait(self) -> None:
        if self._task is not None:
            await asyncio.shield(self._task)

    async def _run(self) -> None:
        staging = self._models.parent / f"{self._models.name}-next"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        try:
            expected = fingerprint(self._root)
            process = await asyncio.create_subprocess_exec(
                *self._command(staging), cwd=self._root, env=self._env,
                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
            _, err = await process.communicate()
            trained = staging / MODEL_NAME
            if process.returncode != 0 or not trained.exists():
                log.error("retrain failed with exit code %s", process.returncode)
                self._finish("failed", f"Huấn luyện thất bại (mã {process.returncode}).")
                return
            self.state = "loading"
            os.replace(trained, self._models / MODEL_NAME)
            (self._models / FINGERPRINT_NAME).write_text(expected + "\n")
            failed = await self._load(self._models / MODEL_NAME)
            if failed:
                self._finish("failed", "Đã huấn luyện, nhưng chưa nạp được vào: "
                             + ", ".join(failed) + ". Khởi động lại dịch vụ Rasa để dùng.")
            else:
                self._finish("done", "Mô hình mới đang được dùng.")
        except Exception as error:  # the type only
            log.error("retrain failed: %s", type(error).__name__)
            self._finish("failed", "Huấn luyện thất bại.")
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def _finish(self, state: str, detail: str) -> None:
        self.state, self.detail, self.finished_at = state, detail, self._clock()


def rasa_loader(urls: Sequence[str], token: str, timeout: float = 600) -> Loader:
    """Asks each Rasa instance to load the model file (it keeps the old one until then)."""
    async def load(model: Path) -> list[str]:
        failed = []
        async with httpx.AsyncClient(timeout=timeout) as client:
            for index, url in enumerate(urls):
                try:
                    response = await client.put(f"{url}/model", params={"token": token},
                                                json={"model_file": str(model)})
                    if response.status_code >= 300:
                        failed.append(f"rasa-{index + 1}")
                except httpx.HTTPError:
                    failed.append(f"rasa-{index + 1}")
        return failed
    return load
