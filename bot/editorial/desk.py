"""Propose, review, publish, roll back: content changes with a second pair of eyes.

- An editor proposes a change to one entry (a form) or to a whole file (an upload). It is
  checked by the content model first; a change that breaks it is refused whole.
- Contacts, legal facts, crisis phrases and canned replies go live only when a reviewer
  other than the author approves. Other files may be published by their editor when the
  operator allows it (``ANTAM_EDITOR_SELF_PUBLISH=1``).
- Publishing writes the file atomically (a temporary file, then a rename): the bot and the
  action server, which reload on change, never read half a file.
- Every published file is kept as a version: who, when, why, who approved. Any two
  versions can be compared, and a reviewer rolls back to one in a single step.
- A change written against a file that has since changed, or to an entry another change
  is already waiting on, is refused with the difference shown.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import difflib
import hashlib
import os
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from bot.editorial import yamldoc
from bot.editorial.checks import check, problem_json
from bot.editorial.forms import SENSITIVE_FILES, TYPES, WHOLE_FILES, FieldError, from_form, to_form
from bot.editorial.lexicon import FILE as LEXICON
from bot.editorial.lexicon import lexicon_problems
from bot.editorial.records import ContentChange, ContentVersion
from bot.escalation.audit import record as audit
from bot.escalation.errors import Conflict, EscalationError, Forbidden, NotFound
from bot.escalation.views import Principal
from bot.storage import Database
from common.content import load_content

EDITOR_ROLES = ("editor", "reviewer")
STALE_AFTER_DAYS = 365  # a fact reviewed longer ago is listed for review
UNTESTED_AFTER_DAYS = 182  # a contact not test-called for longer is listed
_LOCK_ID = 0x636F6E74  # "cont": publishing is one at a time, service-wide (PostgreSQL)


class Invalid(EscalationError):
    """The content model refuses the proposal; ``problems`` say where."""

    status, code = 422, "invalid"

    def __init__(self, problems: list[dict]):
        super().__init__("Nội dung chưa hợp lệ.")
        self.problems = problems


class Clash(Conflict):
    """Someone else changed the same thing; ``diff`` shows how theirs differs."""

    def __init__(self, message: str, diff: str):
        super().__init__(message)
        self.diff = diff


def sha(text_: str) -> str:
    return hashlib.sha256(text_.encode("utf-8")).hexdigest()


def unified(old: str, new: str, old_name: str, new_name: str) -> str:
    return "".join(difflib.unified_diff(old.splitlines(keepends=True),
                                        new.splitlines(keepends=True), old_name, new_name))


def _require(who: Principal, roles: tuple[str, ...]) -> None:
    if who.role not in roles:
        raise Forbidden("Việc này cần vai trò biên tập viên hoặc người duyệt.")


class EditorialDesk:
    def __init__(self, database: Database, content_dir: Path,
                 clock: Callable[[], dt.datetime], self_publish: bool = False,
                 on_published: Callable[[dict], None] | None = None,
                 lexicon: Path | None = None):
        self._db = database
        self._dir = content_dir
        self._lexicon = lexicon  # nlu/lexicon/abbreviations.yml: editable when given
        self._clock = clock
        self.self_publish = self_publish
        self._on_published = on_published
        self._lock = threading.Lock()  # one publication at a time in this process

    # ----------------------------------------------------------------- reading

    def live(self, file: str) -> str:
        self._known(file)
        return self._path(file).read_text(encoding="utf-8")

    def _path(self, file: str) -> Path:
        return self._lexicon if file == LEXICON and self._lexicon else self._dir / file

    def files(self) -> list[dict]:
        listed = [{"file": t.file, "label": t.label, "sensitive": t.sensitive, "form": True}
                  for t in TYPES.values()]
        listed += [{"file": f, "label": label, "sensitive": sensitive, "form": False}
                   for f, (label, sensitive) in WHOLE_FILES.items()
                   if f != LEXICON or self._lexicon is not None]
        return listed

    def entries(self, file: str) -> dict:
        kind = self._type(file)
        current = self.live(file)
        items = [{"id": str(item.get("id")), "label": _title(item)}
                 for item in yamldoc.entries(current, kind.key) if isinstance(item, dict)]
        return {"file": file, "label": kind.label, "sensitive": kind.sensitive,
                "sha": sha(current), "entries": items,
                "fields": [f.as_json() for f in kind.fields]}

    def entry(self, file: str, entry_id: str) -> dict:
        kind = self._type(file)
        current = self.live(file)
        item = yamldoc.entry(current, kind.key, entry_id)
        if item is None:
            raise NotFound("Không có mục này.")
        names = [f.name for f in kind.fields] + [k for k in item if k not in
                                                  {f.name for f in kind.fields}]
        fields = [kind.field(name).as_json() for name in names]
        values = {name: to_form(item.get(name), kind.field(name)) for name in names}
        pending = self._pending_on(file, entry_id)
        return {"file": file, "id": entry_id, "sha": sha(current), "fields": fields,
                "values": values, "sensitive": kind.sensitive,
                "pending": [_change_json(c) for c in pending]}

    # ----------------------------------------------------------------- checking

    def entry_text(self, file: str, entry_id: str | None, values: dict) -> str:
        """The whole file with the form's values in place (raises Invalid on a bad field)."""
        kind = self._type(file)
        stored = {}
        for name, raw in values.items():
            try:
                stored[name] = from_form(raw, kind.field(name))
            except FieldError as error:
                raise Invalid([{"file": file, "entry": entry_id or "-", "field": error.field,
                                "message": str(error), "detail": ""}]) from None
        try:
            return yamldoc.with_entry(self.live(file), kind.key, entry_id, stored)
        except yamldoc.DocumentError as error:
            raise Invalid([{"file": file, "entry": entry_id or "-", "field": "-",
                            "message": str(error), "detail": ""}]) from None

    def problems(self, file: str, proposed: str) -> list[dict]:
        if file == LEXICON:
            return [problem_json(p) for p in lexicon_problems(proposed)]
        return [problem_json(p) for p in check(self._dir, {file: proposed}).problems]

    # ----------------------------------------------------------------- proposing

    def propose(self, who: Principal, file: str, proposed: str, base_sha: str, reason: str,
                entry: str | None = None, publish: bool = False) -> dict:
        """A checked proposal. ``publish`` asks to put it live at once, which only a
        non-sensitive file allows, and only when the operator lets editors do so."""
        _require(who, EDITOR_ROLES)
        self._known(file)
        if publish and (file in SENSITIVE_FILES or not self.self_publish):
            raise Forbidden("Thay đổi này cần người duyệt thứ hai.")
        problems = self.problems(file, proposed)
        if problems:
            raise Invalid(problems)
        current = self.live(file)
        if base_sha != sha(current):
            raise Clash("Tệp đã được thay đổi sau khi bạn mở. So sánh bên dưới, rồi mở lại và "
                        "sửa trên bản mới nhất.", unified(current, proposed, "đang dùng",
                                                            "bản của bạn"))
        if proposed == current:
            raise EscalationError("Chưa có thay đổi nào.")
        with self._lock, self._db.session() as session:
            self._serialise(session)  # two proposals on one entry: the second sees the first
            for other in self._pending(session, file):
                if entry is None or other.entry in (None, entry):
                    raise Clash(f"{other.author} đang có một đề xuất chờ duyệt cho mục này. "
                                "So sánh bên dưới.",
                                unified(other.text, proposed, f"đề xuất của {other.author}",
                                        "bản của bạn"))
            change = ContentChange(file=file, entry=entry, base_sha=base_sha, text=proposed,
                                   author_id=who.staff_id, author=who.display_name,
                                   reason=reason.strip()[:500], status="pending",
                                   created_at=self._clock())
            session.add(change)
            audit(session, self._clock(), who.staff_id, "content_propose", detail=file)
            session.commit()
            change_id = change.id
        if publish:
            return self._publish(who, change_id, approver=None)
        return self.change(change_id)

    def approve(self, who: Principal, change_id: int) -> dict:
        _require(who, ("reviewer",))
        change = self._change(change_id)
        if change.author_id == who.staff_id:
            raise Forbidden("Bạn không thể tự duyệt thay đổi của chính mình.")
        return self._publish(who, change_id, approver=who)

    def reject(self, who: Principal, change_id: int, note: str) -> dict:
        _require(who, ("reviewer",))
        with self._db.session() as session:
            change = session.get(ContentChange, change_id)
            if change is None or change.status != "pending":
                raise NotFound("Không có đề xuất đang chờ này.")
            change.status, change.note = "rejected", note.strip()[:500]
            change.reviewer_id, change.reviewer = who.staff_id, who.display_name
            change.decided_at = self._clock()
            audit(session, self._clock(), who.staff_id, "content_reject", detail=change.file)
            session.commit()
        return self.change(change_id)

    def withdraw(self, who: Principal, change_id: int) -> dict:
        with self._db.session() as session:
            change = session.get(ContentChange, change_id)
            if change is None or change.status != "pending" or change.author_id != who.staff_id:
                raise NotFound("Không có đề xuất đang chờ của bạn với mã này.")
            change.status, change.decided_at = "withdrawn", self._clock()
            session.commit()
        return self.change(change_id)

    def change(self, change_id: int) -> dict:
        change = self._change(change_id)
        data = _change_json(change)
        base = self._version_by_sha(change.file, change.base_sha)
        data["diff"] = unified(base.text if base else self.live(change.file), change.text,
                               "trước", "đề xuất")
        return data

    def changes(self, status: str = "pending") -> list[dict]:
        with self._db.session() as session:
            rows = session.scalars(select(ContentChange).where(ContentChange.status == status)
                                   .order_by(ContentChange.id.desc()).limit(200))
            return [_change_json(c) for c in rows]

    # ----------------------------------------------------------------- history

    def history(self, file: str) -> list[dict]:
        self._known(file)
        self._baseline(file)
        with self._db.session() as session:
            rows = session.scalars(select(ContentVersion).where(ContentVersion.file == file)
                                   .order_by(ContentVersion.id.desc()).limit(500))
            return [_version_json(v) for v in rows]

    def diff(self, a: int, b: int) -> dict:
        with self._db.session() as session:
            old, new = session.get(ContentVersion, a), session.get(ContentVersion, b)
            if old is None or new is None or old.file != new.file:
                raise NotFound("Hai phiên bản này không cùng một tệp.")
            return {"file": old.file, "diff": unified(old.text, new.text, f"phiên bản {a}",
                                                      f"phiên bản {b}")}

    def rollback(self, who: Principal, version_id: int, reason: str) -> dict:
        """A reviewer puts an earlier version live again, in one step (itself a version)."""
        _require(who, ("reviewer",))
        with self._db.session() as session:
            old = session.get(ContentVersion, version_id)
            if old is None:
                raise NotFound("Không có phiên bản này.")
            file, old_text = old.file, old.text
        problems = self.problems(file, old_text)
        if problems:  # another file has moved on since (a removed entry it refers to…)
            raise Invalid(problems)
        current = self.live(file)
        with self._db.session() as session:
            change = ContentChange(file=file, entry=None, base_sha=sha(current), text=old_text,
                                   author_id=who.staff_id, author=who.display_name,
                                   reason=(reason.strip() or f"Khôi phục phiên bản {version_id}")
                                   [:500], status="pending", created_at=self._clock())
            session.add(change)
            session.commit()
            change_id = change.id
        return self._publish(who, change_id, approver=who)

    # ----------------------------------------------------------------- freshness

    def freshness(self, today: dt.date) -> dict:
        content = load_content(self._dir)  # the live state, as the bot reads it
        tables = {"contacts.yml": content.contacts, "legal.yml": content.legal,
                  "guides.yml": content.guides, "explainers.yml": content.explainers,
                  "quiz.yml": content.quiz}
        stale, unverified = [], []
        for file, table in tables.items():
            for key, item in table.items():
                row = {"file": file, "id": key, "label": _label(item),
                       "reviewed": item.fact.reviewed.isoformat(),
                       "age_days": (today - item.fact.reviewed).days}
                if not item.fact.verified:
                    unverified.append(row)
                if (today - item.fact.reviewed).days > STALE_AFTER_DAYS:
                    stale.append(row)
        untested = [{"file": "contacts.yml", "id": c.id, "label": c.name, "number": c.number,
                     "tested": c.tested.isoformat() if c.tested else None}
                    for c in content.contacts.values() if c.fact.verified and (
                        c.tested is None or (today - c.tested).days > UNTESTED_AFTER_DAYS)]
        return {"today": today.isoformat(), "stale": stale, "unverified": unverified,
                "untested": untested, "stale_after_days": STALE_AFTER_DAYS,
                "untested_after_days": UNTESTED_AFTER_DAYS}

    def mark_checked(self, who: Principal, file: str, entry_id: str, what: str,
                     today: dt.date) -> dict:
        """A reviewer records that a fact was reviewed (or a contact test-called) today:
        published at once, as a version naming them."""
        _require(who, ("reviewer",))
        if what not in ("reviewed", "tested") or (what == "tested" and file != "contacts.yml"):
            raise EscalationError("Chỉ ghi nhận được 'reviewed' hoặc 'tested' (đầu mối).")
        current = self.live(file)
        proposed = self.entry_text(file, entry_id, {what: today.isoformat()})
        label = "đã rà soát" if what == "reviewed" else "đã gọi thử"
        problems = self.problems(file, proposed)
        if problems:
            raise Invalid(problems)
        with self._db.session() as session:
            change = ContentChange(file=file, entry=entry_id, base_sha=sha(current),
                                   text=proposed, author_id=who.staff_id,
                                   author=who.display_name, reason=f"{entry_id}: {label}",
                                   status="pending", created_at=self._clock())
            session.add(change)
            session.commit()
            change_id = change.id
        return self._publish(who, change_id, approver=who)

    # ----------------------------------------------------------------- publishing

    def _publish(self, who: Principal, change_id: int, approver: Principal | None) -> dict:
        with self._lock, self._db.session() as session:
            self._serialise(session)
            change = session.get(ContentChange, change_id)
            if change is None or change.status != "pending":
                raise NotFound("Không có đề xuất đang chờ này.")
            current = self.live(change.file)
            if sha(current) != change.base_sha:
                raise Clash("Tệp đã được thay đổi sau khi đề xuất này được viết. Người đề xuất "
                            "cần sửa lại trên bản mới nhất.",
                            unified(current, change.text, "đang dùng", "đề xuất"))
            problems = self.problems(change.file, change.text)
            if problems:  # another file changed since, and this no longer fits with it
                raise Invalid(problems)
            self._baseline(change.file, session)
            retrain = change.file == LEXICON or _matcher_changed(self._dir, change.file,
                                                                  change.text)
            version = ContentVersion(
                file=change.file, sha=sha(change.text), text=change.text, entry=change.entry,
                author_id=change.author_id, author=change.author,
                approver_id=approver.staff_id if approver else None,
                approver=approver.display_name if approver else None,
                reason=change.reason, at=self._clock(), retrain=retrain)
            session.add(version)
            change.status, change.decided_at = "published", self._clock()
            change.reviewer_id = approver.staff_id if approver else None
            change.reviewer = approver.display_name if approver else None
            audit(session, self._clock(), who.staff_id, "content_publish", detail=change.file)
            session.flush()
            write_atomically(self._path(change.file), change.text)
            session.commit()
            published = _version_json(version)
        if self._on_published is not None:
            self._on_published(published)
        return published

    def _serialise(self, session: Session) -> None:
        if self._db.url.startswith("postgresql"):
            session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _LOCK_ID})

    def _baseline(self, file: str, session: Session | None = None) -> None:
        """The file as it was before the first change made here, kept as version 1 of its
        history, so that a rollback can always reach it."""
        def ensure(s: Session) -> None:
            if s.scalar(select(ContentVersion.id).where(ContentVersion.file == file)
                        .limit(1)) is None:
                current = self.live(file)
                s.add(ContentVersion(file=file, sha=sha(current), text=current, entry=None,
                                     author_id="system", author="(bản có sẵn)",
                                     approver_id=None, approver=None,
                                     reason="Bản đang dùng trước lần sửa đầu tiên trên web",
                                     at=self._clock(), retrain=False))
        if session is not None:
            ensure(session)
            return
        with self._db.session() as own:
            ensure(own)
            own.commit()

    # ----------------------------------------------------------------- helpers

    def _known(self, file: str) -> None:
        if file not in TYPES and file not in WHOLE_FILES or (file == LEXICON
                                                              and self._lexicon is None):
            raise NotFound("Không có tệp nội dung này.")

    def _type(self, file: str):
        self._known(file)
        if file not in TYPES:
            raise NotFound("Tệp này chỉ sửa được bằng cách tải lên cả tệp.")
        return TYPES[file]

    def _change(self, change_id: int) -> ContentChange:
        with self._db.session() as session:
            change = session.get(ContentChange, change_id)
            if change is None:
                raise NotFound("Không có đề xuất này.")
            session.expunge(change)
            return change

    def _pending(self, session: Session, file: str) -> list[ContentChange]:
        return list(session.scalars(select(ContentChange).where(
            ContentChange.file == file, ContentChange.status == "pending")))

    def _pending_on(self, file: str, entry_id: str) -> list[ContentChange]:
        with self._db.session() as session:
            return [c for c in self._pending(session, file) if c.entry in (None, entry_id)]

    def _version_by_sha(self, file: str, digest: str) -> ContentVersion | None:
        with self._db.session() as session:
            row = session.scalar(select(ContentVersion).where(
                ContentVersion.file == file, ContentVersion.sha == digest)
                .order_by(ContentVersion.id.desc()).limit(1))
            if row is not None:
                session.expunge(row)
            return row


def write_atomically(path: Path, content: str) -> None:
    """The new file appears whole or not at all: a reader sees the old or the new."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _matcher_changed(live_dir: Path, file: str, proposed: str) -> bool:
    """Whether the example questions the model learns from differ (a retrain is due)."""
    before = check(live_dir, {})
    after = check(live_dir, {file: proposed})
    if before.content is None or after.content is None:
        return False
    return before.content.matcher_fingerprint() != after.content.matcher_fingerprint()


def _title(item: dict) -> str:
    for name in ("name", "label", "title", "question", "text"):
        if isinstance(item.get(name), str):
            return str(item[name])[:120]
    return str(item.get("id"))


def _label(item: object) -> str:
    for name in ("name", "label", "title", "question"):
        value = getattr(item, name, None)
        if isinstance(value, str) and value:
            return value[:120]
    return str(getattr(item, "id", ""))


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() + "Z" if value else None


def _change_json(c: ContentChange) -> dict:
    return {"id": c.id, "file": c.file, "entry": c.entry, "author_id": c.author_id,
            "author": c.author, "reason": c.reason, "status": c.status,
            "reviewer": c.reviewer, "note": c.note, "created_at": _iso(c.created_at),
            "decided_at": _iso(c.decided_at), "sensitive": c.file in SENSITIVE_FILES}


def _version_json(v: ContentVersion) -> dict:
    return {"id": v.id, "file": v.file, "entry": v.entry, "sha": v.sha, "author": v.author,
            "approver": v.approver, "reason": v.reason, "at": _iso(v.at),
            "retrain": v.retrain}
