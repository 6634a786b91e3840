"""The entry types of the content model as forms: which file, which list, which fields.

A field's kind decides its input and how the form's text becomes YAML. Fields an entry
has beyond those listed here still appear, edited as YAML, so no field is ever lost.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import yaml

from common.content.loader import AUDIENCES, FORMS, LEGAL_TOPICS, NEEDS

STATUSES = ("verified", "unverified")


@dataclass(frozen=True)
class Field:
    name: str
    label: str  # Vietnamese, shown to editors
    kind: str = "text"  # text | long | lines | date | bool | choice | codes | int | yaml
    choices: tuple[str, ...] = ()

    def as_json(self) -> dict:
        return {"name": self.name, "label": self.label, "kind": self.kind,
                "choices": list(self.choices)}


@dataclass(frozen=True)
class EntryType:
    file: str
    key: str  # the list that holds the entries
    label: str
    fields: tuple[Field, ...]
    sensitive: bool  # a second person approves before it goes live

    def field(self, name: str) -> Field:
        known = {f.name: f for f in self.fields}
        return known.get(name) or Field(name, name, "yaml")


_ID = Field("id", "Mã (chữ thường, số, dấu _)")
_FACT = (Field("source", "Nguồn (đường dẫn)"), Field("reviewed", "Ngày rà soát", "date"),
         Field("status", "Trạng thái", "choice", STATUSES))
_QUESTIONS = Field("questions", "Câu hỏi mẫu (mỗi dòng một câu)", "lines")
_RELATED = Field("related", "Mục liên quan (mỗi dòng một mục, ví dụ guide:evidence)", "lines")

TYPES: dict[str, EntryType] = {t.file: t for t in (
    EntryType("contacts.yml", "contacts", "Đầu mối hỗ trợ", (
        _ID, Field("name", "Tên"), Field("number", "Số điện thoại"),
        Field("hours", "Giờ làm việc"), Field("cost", "Chi phí"),
        Field("serves", "Hỗ trợ khi nào", "long"), Field("region", "Phạm vi"),
        Field("audience", "Tiếp nhận", "codes", AUDIENCES),
        Field("needs", "Nhu cầu", "codes", NEEDS),
        Field("emergency", "Có trong trả lời khẩn cấp", "bool"),
        *_FACT, Field("tested", "Ngày gọi thử gần nhất", "date"), _QUESTIONS), True),
    EntryType("legal.yml", "legal", "Thông tin pháp luật", (
        _ID, Field("topic", "Chủ đề", "choice", LEGAL_TOPICS), Field("label", "Nhãn nút"),
        Field("question", "Câu hỏi"), Field("short", "Trả lời ngắn", "long"),
        Field("details", "Chi tiết", "long"), Field("citation", "Trích dẫn (YAML)", "yaml"),
        *_FACT, _QUESTIONS), True),
    EntryType("canned.yml", "canned", "Câu trả lời soạn sẵn", (
        _ID, Field("title", "Tiêu đề"), Field("text", "Nội dung", "long")), True),
    EntryType("crisis.yml", "triggers", "Cụm từ khủng hoảng", (
        _ID, Field("phrases", "Cụm từ (YAML)", "yaml")), True),
    EntryType("guides.yml", "guides", "Hướng dẫn", (
        _ID, Field("label", "Nhãn nút"), Field("title", "Tiêu đề"),
        Field("short", "Nội dung ngắn", "long"), Field("details", "Chi tiết", "long"),
        _RELATED, *_FACT, _QUESTIONS), False),
    EntryType("explainers.yml", "explainers", "Giải thích", (
        _ID, Field("form", "Hình thức", "choice", (*FORMS, "overview")), Field("label", "Nhãn nút"),
        Field("title", "Tiêu đề"), Field("short", "Nội dung ngắn", "long"),
        Field("examples", "Ví dụ (mỗi dòng một ví dụ)", "lines"), *_FACT, _QUESTIONS), False),
    EntryType("messages.yml", "messages", "Tin nhắn của bot", (
        _ID, Field("text", "Nội dung", "long"), Field("buttons", "Nút (YAML)", "yaml"),
        Field("menu", "Menu kèm theo"), _QUESTIONS), False),
    EntryType("menus.yml", "menus", "Menu", (
        _ID, Field("buttons", "Nút (YAML)", "yaml")), False),
    EntryType("quiz.yml", "questions", "Câu đố", (
        _ID, Field("question", "Câu hỏi", "long"),
        Field("options", "Lựa chọn (mỗi dòng một lựa chọn)", "lines"),
        Field("answer", "Số thứ tự đáp án đúng (từ 0)", "int"),
        Field("explanation", "Giải thích", "long"), *_FACT), False),
    EntryType("selfcheck.yml", "questions", "Tự kiểm tra", (
        _ID, Field("question", "Câu hỏi", "long"),
        Field("form", "Hình thức", "choice", FORMS),
        Field("danger", "Dấu hiệu nguy hiểm", "bool")), False),
)}
# Whole files only (rows without an id of their own); edited by download and upload:
# file -> (label, needs a second person). The lexicon lives in nlu/, not content/: it changes
# what the crisis net and the model read, so it is reviewed, and it needs a retrain.
WHOLE_FILES = {"answers.yml": ("Câu trả lời theo ý định", False),
               "abbreviations.yml": ("Từ viết tắt và teencode", True)}
SENSITIVE_FILES = frozenset([*(t.file for t in TYPES.values() if t.sensitive),
                             *(f for f, (_, sensitive) in WHOLE_FILES.items() if sensitive)])


class FieldError(ValueError):
    """A form value that cannot become YAML at all (before the model's own checks)."""

    def __init__(self, fld: str, message: str):
        super().__init__(message)
        self.field = fld


def to_form(value: Any, fld: Field) -> Any:
    """A stored value as the form shows it."""
    if value is None:
        return False if fld.kind == "bool" else [] if fld.kind == "codes" else ""
    if fld.kind == "lines":
        return "\n".join(str(v) for v in value) if isinstance(value, list) else str(value)
    if fld.kind == "codes":
        return [str(v) for v in value] if isinstance(value, list) else [str(value)]
    if fld.kind == "yaml":
        return yaml.safe_dump(_plain(value), allow_unicode=True, sort_keys=False,
                              width=4096).strip()
    if fld.kind == "bool":
        return value is True
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def from_form(raw: Any, fld: Field) -> Any:
    """What the form sent, as the value to store; None removes an optional field."""
    if fld.kind == "bool":
        return bool(raw)
    if fld.kind == "codes":
        return [str(v) for v in raw] if isinstance(raw, list) else None
    text = "" if raw is None else str(raw)
    if fld.kind == "lines":
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        return lines or None
    if not text.strip():
        return None
    if fld.kind == "yaml":
        try:
            return yaml.safe_load(text)
        except yaml.YAMLError as error:
            mark = getattr(error, "problem_mark", None)
            where = f" (dòng {mark.line + 1})" if mark else ""
            raise FieldError(fld.name, f"Không đọc được YAML{where}.") from None
    if fld.kind == "date":
        try:
            return dt.date.fromisoformat(text.strip())
        except ValueError:
            return text.strip()  # the model's check names it
    if fld.kind == "int":
        return int(text) if text.strip().lstrip("-").isdigit() else text.strip()
    return text.strip() if fld.kind != "long" else text.strip("\n")


def _plain(value: Any) -> Any:
    """ruamel's commented containers as plain lists and dicts (for safe_dump)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float):
        return int(value) if isinstance(value, int) else float(value)
    return str(value)
