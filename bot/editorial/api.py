"""The editors' routes under /api/v1/content, on the workspace's server, login and roles.

Every route needs an editor's or a reviewer's session; the desk enforces who may approve.
A refused change answers 422 with ``problems`` (each naming file, entry and field) or 409
with ``diff`` (what someone else changed), and nothing is written.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from bot.editorial.desk import EDITOR_ROLES, Clash, EditorialDesk, Invalid, sha
from bot.editorial.preview import Previewer
from bot.editorial.retrain import Retrainer
from bot.escalation.api import PREFIX, BadInput, Limits, Result, _Endpoint, _field, _text
from bot.escalation.errors import Forbidden, NotFound
from bot.escalation.hub import EscalationHub
from bot.escalation.views import Principal

MAX_FILE = 400 * 1024  # the largest content file is about 75 kB


@dataclass
class Editorial:
    desk: EditorialDesk
    previewer: Previewer | None = None  # None: no Rasa to preview with (tests of the desk)
    retrainer: Retrainer | None = None


class _ContentEndpoint(_Endpoint):
    max_body = MAX_FILE + 16 * 1024  # a whole file, uploaded, with the reason
    def initialize(self, editorial: Editorial, **kwargs: Any) -> None:  # type: ignore[override]
        super().initialize(**kwargs)
        self.editorial = editorial

    @property
    def desk(self) -> EditorialDesk:
        return self.editorial.desk

    async def editor(self) -> Principal:
        who = await self.principal()
        if who.role not in EDITOR_ROLES:
            raise Forbidden("Việc này cần vai trò biên tập viên hoặc người duyệt.")
        return who

    async def call(self, method, *args: Any) -> Any:
        return await self.hub.run(method, *args)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        error = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(error, Invalid | Clash):
            self.set_status(error.status)
            body = {"error": error.code, "message": str(error)}
            body.update({"problems": error.problems} if isinstance(error, Invalid)
                        else {"diff": error.diff})
            self.finish(json.dumps(body, ensure_ascii=False))
            return
        super().write_error(status_code, **kwargs)


def _int(value: str) -> int:
    if not value.isdigit():
        raise BadInput("an id must be a number")
    return int(value)


def _values(doc: dict) -> dict:
    values = _field(doc, "values", dict)
    if len(json.dumps(values)) > MAX_FILE:
        raise BadInput("the values are too long")
    return values


async def _proposal(h: _ContentEndpoint, doc: dict) -> tuple[str, str | None, str]:
    """(file, entry, the whole proposed file) from a form's values or an uploaded text."""
    file = _text(doc, "file", 40)
    entry = _text(doc, "entry", 80, optional=True)
    if "text" in doc:
        return file, None, _text(doc, "text", MAX_FILE)
    text = await h.call(h.desk.entry_text, file, entry, _values(doc))
    return file, entry, text


# --------------------------------------------------------------------------- operations


async def _files(h: _ContentEndpoint) -> Result:
    await h.editor()
    retrain = h.editorial.retrainer.status() if h.editorial.retrainer else None
    return 200, {"files": h.desk.files(), "self_publish": h.desk.self_publish,
                 "retrain": retrain, "preview": h.editorial.previewer is not None}


async def _entries(h: _ContentEndpoint, file: str) -> Result:
    await h.editor()
    return 200, await h.call(h.desk.entries, file)


async def _entry(h: _ContentEndpoint, file: str, entry_id: str) -> Result:
    await h.editor()
    return 200, await h.call(h.desk.entry, file, entry_id)


async def _yaml(h: _ContentEndpoint, file: str) -> Result:
    await h.editor()
    text = await h.call(h.desk.live, file)
    return 200, {"file": file, "text": text, "sha": sha(text)}


async def _check(h: _ContentEndpoint) -> Result:
    await h.editor()
    try:
        file, _, text = await _proposal(h, h.body())
    except Invalid as error:
        return 200, {"problems": error.problems}
    return 200, {"problems": await h.call(h.desk.problems, file, text)}


async def _propose(h: _ContentEndpoint) -> Result:
    who, doc = await h.editor(), h.body()
    file, entry, text = await _proposal(h, doc)
    base = _text(doc, "base_sha", 64)
    reason = _text(doc, "reason", 500) or ""
    if not reason.strip():
        raise BadInput("Hãy ghi lý do thay đổi.")
    publish = bool(_field(doc, "publish", bool, optional=True))
    return 201, await h.call(h.desk.propose, who, file, text, base, reason, entry, publish)


async def _changes(h: _ContentEndpoint) -> Result:
    await h.editor()
    status = h.get_query_argument("status", "pending")
    if status not in ("pending", "published", "rejected", "withdrawn"):
        raise BadInput("unknown status")
    return 200, {"changes": await h.call(h.desk.changes, status)}


async def _change(h: _ContentEndpoint, change_id: str) -> Result:
    await h.editor()
    return 200, await h.call(h.desk.change, _int(change_id))


async def _approve(h: _ContentEndpoint, change_id: str) -> Result:
    who = await h.editor()
    return 200, await h.call(h.desk.approve, who, _int(change_id))


async def _reject(h: _ContentEndpoint, change_id: str) -> Result:
    who = await h.editor()
    note = _text(h.body(), "note", 500) or ""
    return 200, await h.call(h.desk.reject, who, _int(change_id), note)


async def _withdraw(h: _ContentEndpoint, change_id: str) -> Result:
    who = await h.editor()
    return 200, await h.call(h.desk.withdraw, who, _int(change_id))


async def _history(h: _ContentEndpoint, file: str) -> Result:
    await h.editor()
    return 200, {"file": file, "versions": await h.call(h.desk.history, file)}


async def _diff(h: _ContentEndpoint) -> Result:
    await h.editor()
    a, b = (_int(h.get_query_argument(name, "")) for name in ("a", "b"))
    return 200, await h.call(h.desk.diff, a, b)


async def _rollback(h: _ContentEndpoint, version_id: str) -> Result:
    who = await h.editor()
    reason = _text(h.body(), "reason", 500, optional=True) or ""
    return 200, await h.call(h.desk.rollback, who, _int(version_id), reason)


async def _freshness(h: _ContentEndpoint) -> Result:
    await h.editor()
    return 200, await h.call(h.desk.freshness, dt.date.today())


async def _checked(h: _ContentEndpoint, file: str, entry_id: str) -> Result:
    who = await h.editor()
    what = _text(h.body(), "what", 20)
    return 200, await h.call(h.desk.mark_checked, who, file, entry_id, what, dt.date.today())


def _previewer(h: _ContentEndpoint) -> Previewer:
    if h.editorial.previewer is None:
        raise NotFound("Xem trước cần Rasa đang chạy.")
    return h.editorial.previewer


async def _preview_open(h: _ContentEndpoint) -> Result:
    await h.editor()
    doc = h.body()
    proposed = {}
    if doc.get("file"):
        file, text = await _previewable(h, doc)
        proposed[file] = text
    return 201, {"token": _previewer(h).open(proposed)}


async def _previewable(h: _ContentEndpoint, doc: dict) -> tuple[str, str]:
    """A proposal the content model accepts: a broken one is refused, not previewed."""
    file, _, text = await _proposal(h, doc)
    problems = await h.call(h.desk.problems, file, text)
    if problems:
        raise Invalid(problems)
    return file, text


async def _preview_update(h: _ContentEndpoint, token: str) -> Result:
    await h.editor()
    file, text = await _previewable(h, h.body())
    try:
        _previewer(h).update(token, {file: text})
    except KeyError:
        raise NotFound("Phiên xem trước đã hết hạn: mở lại.") from None
    return 204, None


async def _preview_say(h: _ContentEndpoint, token: str) -> Result:
    await h.editor()
    text = _text(h.body(), "text", 4096) or ""
    try:
        return 200, await _previewer(h).say(token, text)
    except KeyError:
        raise NotFound("Phiên xem trước đã hết hạn: mở lại.") from None


async def _preview_close(h: _ContentEndpoint, token: str) -> Result:
    await h.editor()
    await _previewer(h).close(token)
    return 204, None


async def _retrain_status(h: _ContentEndpoint) -> Result:
    await h.editor()
    if h.editorial.retrainer is None:
        raise NotFound("Không huấn luyện được ở máy chủ này.")
    return 200, h.editorial.retrainer.status()


async def _retrain_start(h: _ContentEndpoint) -> Result:
    who = await h.editor()
    if who.role != "reviewer":
        raise Forbidden("Chỉ người duyệt nội dung mới bắt đầu huấn luyện lại.")
    if h.editorial.retrainer is None:
        raise NotFound("Không huấn luyện được ở máy chủ này.")
    return 202, await h.editorial.retrainer.start(who)


_S = r"([^/]{1,100})"
ROUTES = [
    ("/content/files", {"GET": _files}),
    (f"/content/files/{_S}", {"GET": _entries}),
    (f"/content/files/{_S}/yaml", {"GET": _yaml}),
    (f"/content/files/{_S}/entries/{_S}", {"GET": _entry}),
    (f"/content/files/{_S}/entries/{_S}/checked", {"POST": _checked}),
    ("/content/check", {"POST": _check}),
    ("/content/changes", {"GET": _changes, "POST": _propose}),
    (f"/content/changes/{_S}", {"GET": _change}),
    (f"/content/changes/{_S}/approval", {"POST": _approve}),
    (f"/content/changes/{_S}/rejection", {"POST": _reject}),
    (f"/content/changes/{_S}/withdrawal", {"POST": _withdraw}),
    (f"/content/history/{_S}", {"GET": _history}),
    ("/content/diff", {"GET": _diff}),
    (f"/content/versions/{_S}/rollback", {"POST": _rollback}),
    ("/content/freshness", {"GET": _freshness}),
    ("/content/preview", {"POST": _preview_open}),
    (f"/content/preview/{_S}", {"PUT": _preview_update, "DELETE": _preview_close}),
    (f"/content/preview/{_S}/messages", {"POST": _preview_say}),
    ("/content/retrain", {"GET": _retrain_status, "POST": _retrain_start}),
]


def editorial_handlers(hub: EscalationHub, editorial: Editorial) -> list[tuple]:
    limits = Limits()
    return [(f"{PREFIX}{path}$", _ContentEndpoint,
             {"hub": hub, "ops": ops, "route": path.replace(_S, "{}"), "limits": limits,
              "editorial": editorial})
            for path, ops in ROUTES]
