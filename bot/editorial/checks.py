"""The content model's own validation of a proposed state, worded for editors.

A proposal is checked as the bot would load it: the live files with the proposed ones in
their place, through ``load_content`` (every field, every cross-reference, every number
shown to users). An unreadable file gives one message, never the cascade it would cause.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from common.content import Content, ContentError, load_content
from common.content.loader import CONTENT_FILES
from common.content.model import Problem


@dataclass(frozen=True)
class Checked:
    content: Content | None
    problems: tuple[Problem, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


def check(live_dir: Path, proposed: Mapping[str, str]) -> Checked:
    """``proposed`` maps file names to their full proposed text."""
    with tempfile.TemporaryDirectory(prefix="antam-check-") as tmp:
        stage = Path(tmp)
        stage_content(live_dir, proposed, stage)
        try:
            return Checked(load_content(stage), ())
        except ContentError as error:
            return Checked(None, tuple(error.problems))


def stage_content(live_dir: Path, proposed: Mapping[str, str], stage: Path) -> None:
    """A full content directory: the live files, with the proposed ones in their place.
    Readable by this service's user only, like everything under var/."""
    stage.mkdir(mode=0o700, parents=True, exist_ok=True)
    for name in CONTENT_FILES:
        target = stage / name
        if name in proposed:
            target.write_text(proposed[name], encoding="utf-8")
        elif (live_dir / name).exists():
            shutil.copyfile(live_dir / name, target)
        if target.exists():
            target.chmod(0o600)


# The loader's messages, as an editor reads them. Anything not listed is shown as it is.
_VIETNAMESE: tuple[tuple[str, str], ...] = (
    (r"required text is missing or empty", "Bắt buộc, chưa điền."),
    (r"'(.+)' is not a Vietnamese phone number",
     r"“\1” không phải số điện thoại Việt Nam (ví dụ 113, 1800 1567, 024 3733 0000)."),
    (r"must be a date written YYYY-MM-DD", "Ngày phải viết dạng NNNN-TT-NN, ví dụ 2026-11-30."),
    (r"every fact needs a source URL", "Cần đường dẫn nguồn (bắt đầu bằng https://)."),
    (r"must be 'verified' or 'unverified'|say 'verified' or 'unverified'.*",
     "Chọn “đã xác minh” hoặc “chưa xác minh”."),
    (r"must be true or false", "Chỉ được chọn có hoặc không."),
    (r"use lowercase letters, digits and _", "Mã chỉ gồm chữ thường không dấu, số và dấu _."),
    (r"duplicate id", "Mã này đã có ở mục khác."),
    (r"each entry needs an '(.+)'", r"Mỗi mục cần có “\1”."),
    (r"needs law and article", "Cần tên văn bản luật và điều khoản."),
    (r"'(.+)' does not exist", r"Không có mục “\1”."),
    (r"number (.+) is not in contacts.yml \(shown in (\d+) places\)",
     r"Số \1 không còn trong danh bạ đầu mối, mà đang được nhắc ở \2 chỗ."),
    (r"number (.+) is not in contacts.yml", r"Số \1 không có trong danh bạ đầu mối."),
    (r"'(.+)' is unverified and may not be shown",
     r"“\1” chưa được xác minh nên không được hiển thị cho người dùng."),
    (r"'(.+)' is not a reference like guide:evidence",
     r"“\1” không phải tham chiếu dạng guide:evidence."),
    (r"unknown contact '(.+)'", r"Không có đầu mối “\1”."),
    (r"unknown menu '(.+)'", r"Không có menu “\1”."),
    (r"must be one of: (.+)", r"Phải là một trong: \1."),
    (r"must be a list.*|must be a non-empty list.*", "Phải là một danh sách."),
    (r"file is missing", "Thiếu tệp."),
    (r"not valid YAML: (?s:.*)", "Tệp không phải YAML hợp lệ."),
    (r"must be a mapping at the top level", "Tệp phải là một bảng khóa – giá trị."),
    (r"at least one emergency contact is required", "Cần ít nhất một đầu mối khẩn cấp."),
    (r"one lowercase word", "Dạng viết tắt phải là một từ, viết thường."),
    (r"an ordinary word",
     "Đây là một từ thông thường có nghĩa khác: thay nó sẽ làm đổi nghĩa câu. Hãy bỏ dòng này."),
    (r"must be a mapping", "Phải là bảng “viết tắt: đầy đủ”."),
    (r"(?:an item has )?(\d+) characters; at most (\d+)", r"Quá dài: \1 ký tự, tối đa \2."),
)


def in_vietnamese(problem: Problem) -> str:
    for pattern, text in _VIETNAMESE:
        match = re.fullmatch(pattern, problem.message)
        if match:
            return match.expand(text).replace(".", yaml_line(problem) + ".", 1) \
                if text.startswith("Tệp không phải YAML") else match.expand(text)
    return problem.message


def problem_json(problem: Problem) -> dict:
    return {"file": problem.file, "entry": problem.entry, "field": problem.field,
            "message": in_vietnamese(problem), "detail": problem.message}


def yaml_line(problem: Problem) -> str:
    """For an unreadable file: the line YAML stopped at, if it said."""
    match = re.search(r"line (\d+), column (\d+)", problem.message)
    return f" (dòng {match.group(1)}, cột {match.group(2)})" if match else ""
