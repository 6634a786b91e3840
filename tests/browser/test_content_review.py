"""The rest of the editors' workspace in Chromium, without Rasa (no preview here): a broken
upload is refused with one message, a reviewer rejects a proposal, marks a stale fact as
reviewed from the freshness page, and compares two versions in the history."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from bot.editorial import yamldoc
from bot.editorial.api import Editorial, editorial_handlers
from bot.editorial.desk import EditorialDesk
from bot.escalation.policy import EscalationPolicy
from bot.escalation.service import ServerKeys
from bot.storage import Database
from tests.browser.conftest import Workspace, running
from tests.browser.flows import admin_makes_a_key, editor_and_reviewer, unlock
from tests.helpers import ROOT, free_port

pytestmark = pytest.mark.browser


@pytest.fixture
def content(tmp_path: Path) -> Path:
    directory = tmp_path / "content"
    shutil.copytree(ROOT / "content", directory)
    legal = directory / "legal.yml"  # one fact last reviewed long ago
    legal.write_text(yamldoc.with_entry(legal.read_text(), "legal", "harassment_fines",
                                        {"reviewed": dt.date(2024, 6, 1)}))
    return directory


@pytest.fixture
def workspace(tmp_path: Path, content: Path) -> Iterator[Workspace]:
    database = Database(f"sqlite:///{tmp_path / 'review.db'}")
    database.migrate()
    desk = EditorialDesk(database, content, dt.datetime.utcnow)
    port = free_port()
    with running(Workspace(database, ServerKeys.ephemeral(), port,
                           EscalationPolicy(api_port=port),
                           routes=lambda hub: editorial_handlers(hub, Editorial(desk)))) as ws:
        yield ws


def test_reject_upload_freshness_and_history(workspace, person, tmp_path, content):
    admin, editor, reviewer = person(), person(), person()
    admin_makes_a_key(admin, workspace)
    editor_and_reviewer(admin, editor, reviewer, workspace)

    # A broken upload: one message, with its line, and nothing proposed.
    editor.get_by_label("Loại nội dung").select_option("guides.yml")
    editor.get_by_text("Sửa cả tệp bằng YAML").click()
    broken = tmp_path / "guides.yml"
    broken.write_text((content / "guides.yml").read_text() + "\n  - id: [oops\n")
    editor.get_by_label("Tệp YAML đã sửa").set_input_files(broken)
    editor.get_by_label("Lý do thay đổi (cả tệp)").fill("sửa hàng loạt")
    editor.get_by_role("button", name="Tải lên và gửi duyệt").click()
    errors = editor.locator(".panel ul.notice.error li")
    expect(errors).to_have_count(1)
    expect(errors).to_contain_text(re.compile(r"Tệp không phải YAML hợp lệ \(dòng \d+"))

    # A proposal the reviewer rejects.
    editor.get_by_role("link", name="Lưu giữ bằng chứng (evidence)").click()
    editor.get_by_label("Tiêu đề").fill("Giữ lại bằng chứng")
    editor.get_by_label("Lý do thay đổi", exact=True).fill("tiêu đề ngắn hơn")
    editor.get_by_role("button", name="Gửi duyệt", exact=True).click()
    expect(editor.get_by_text("Đã gửi đề xuất số 1")).to_be_visible()
    reviewer.reload()
    unlock(reviewer)
    reviewer.get_by_label("Lý do từ chối").fill("giữ tiêu đề cũ")
    reviewer.get_by_role("button", name="Từ chối đề xuất 1").click()
    expect(reviewer.get_by_text("Đã từ chối đề xuất 1.")).to_be_visible()
    expect(reviewer.get_by_text("Không có đề xuất nào đang chờ.")).to_be_visible()

    # Freshness: the stale fact is listed; marking it reviewed records who and when.
    reviewer.get_by_role("link", name="Cần rà soát").click()
    stale = reviewer.locator("section", has=reviewer.get_by_role(
        "heading", name=re.compile("quá 12 tháng")))
    expect(stale).to_contain_text("harassment_fines")
    stale.get_by_role("button", name="Đã rà soát harassment_fines hôm nay").click()
    expect(reviewer.get_by_text(re.compile("^Đã ghi nhận"))).to_be_visible()
    expect(stale).not_to_contain_text("harassment_fines")

    # History: two versions of legal.yml, compared.
    reviewer.get_by_role("link", name="Lịch sử").click()
    reviewer.get_by_label("Tệp").select_option("legal.yml")
    rows = reviewer.locator("table.versions tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("harassment_fines: đã rà soát")
    expect(rows.first).to_contain_text("Lê Văn Lan")
    for row in (rows.first, rows.last):
        row.get_by_role("checkbox").check()
    reviewer.get_by_role("button", name="So sánh hai phiên bản đã chọn").click()
    expect(reviewer.locator(".diff .removed")).to_contain_text("reviewed: 2024-06-01")
    expect(reviewer.locator(".diff .added")).to_contain_text(
        f"reviewed: {dt.date.today().isoformat()}")
    assert "Giữ lại bằng chứng" not in (content / "guides.yml").read_text()
