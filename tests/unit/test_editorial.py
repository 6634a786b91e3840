"""The editors' desk on a copy of the real content: what an editor or reviewer would notice.

Proposals are checked by the content model and refused whole; sensitive files wait for a
second person; publishing writes the live file; history, diff and rollback work; clashes
are refused with the difference shown."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from bot.editorial import yamldoc
from bot.editorial.desk import Clash, EditorialDesk, Invalid, sha
from bot.escalation.errors import Forbidden
from bot.escalation.views import Principal
from bot.safety import SafetyNet
from bot.storage import Database
from common.content import ContentStore, load_content
from common.lexicon import LexiconFile

EDITOR = Principal("s-editor", "editor", "k1", "Hoa (biên tập)")
EDITOR_2 = Principal("s-editor2", "editor", "k2", "Minh (biên tập)")
REVIEWER = Principal("s-reviewer", "reviewer", "k3", "Lan (duyệt)")
REVIEWER_2 = Principal("s-reviewer2", "reviewer", "k4", "Tú (duyệt)")
COUNSELOR = Principal("s-counselor", "counselor", "k5", "Thu")
NOW = dt.datetime(2026, 11, 30, 9, 0)


@pytest.fixture
def desk(tmp_path: Path, content: Path, lexicon: Path) -> EditorialDesk:
    database = Database(f"sqlite:///{tmp_path / 'editorial.db'}")
    database.migrate()
    return EditorialDesk(database, content, lambda: NOW, lexicon=lexicon)


def _hours(desk: EditorialDesk, entry: str, hours: str, who: Principal = EDITOR) -> dict:
    opened = desk.entry("contacts.yml", entry)
    values = dict(opened["values"], hours=hours)
    text = desk.entry_text("contacts.yml", entry, values)
    return desk.propose(who, "contacts.yml", text, opened["sha"], "Giờ làm việc mới", entry)


def _live_hours(content: Path, entry: str) -> str:
    return load_content(content).contacts[entry].hours


def test_a_contact_change_waits_for_a_reviewer_then_goes_live(desk, content):
    before = (content / "contacts.yml").read_text()
    change = _hours(desk, "women_support", "7:00–22:00")
    assert change["status"] == "pending"
    assert (content / "contacts.yml").read_text() == before  # nothing live yet
    assert "+    hours: 7:00–22:00" in desk.change(change["id"])["diff"]

    version = desk.approve(REVIEWER, change["id"])
    assert _live_hours(content, "women_support") == "7:00–22:00"
    assert (version["author"], version["approver"]) == ("Hoa (biên tập)", "Lan (duyệt)")
    after = (content / "contacts.yml").read_text()
    changed = [line for line in after.splitlines() if line not in before.splitlines()]
    assert changed == ["    hours: 7:00–22:00"]  # comments and the rest kept as written
    history = desk.history("contacts.yml")
    assert [v["reason"] for v in history] == ["Giờ làm việc mới",
                                              "Bản đang dùng trước lần sửa đầu tiên trên web"]


def test_a_bad_number_is_refused_at_its_field_and_nothing_is_kept(desk, content):
    opened = desk.entry("contacts.yml", "police")
    text = desk.entry_text("contacts.yml", "police", dict(opened["values"], number="11x3"))
    problems = desk.problems("contacts.yml", text)
    assert [(p["entry"], p["field"]) for p in problems] == [("police", "number")]
    assert "không phải số điện thoại Việt Nam" in problems[0]["message"]
    with pytest.raises(Invalid):
        desk.propose(EDITOR, "contacts.yml", text, opened["sha"], "sửa số", "police")
    assert desk.changes() == []
    assert load_content(content).contacts["police"].number == "113"


def test_an_upload_with_a_syntax_error_gives_one_message(desk):
    text = desk.live("guides.yml") + "\n  - id: [broken\n"
    problems = desk.problems("guides.yml", text)
    assert len(problems) == 1 and problems[0]["message"].startswith("Tệp không phải YAML hợp lệ")


def test_a_reviewer_cannot_approve_their_own_change(desk, content):
    change = _hours(desk, "women_support", "8:00–17:00", who=REVIEWER)
    with pytest.raises(Forbidden):
        desk.approve(REVIEWER, change["id"])
    assert desk.changes()[0]["status"] == "pending"
    with pytest.raises(Forbidden):
        desk.approve(EDITOR, change["id"])  # an editor approves nothing
    desk.approve(REVIEWER_2, change["id"])
    assert _live_hours(content, "women_support") == "8:00–17:00"


def test_a_second_editor_on_the_same_entry_is_told_and_shown_the_difference(desk):
    _hours(desk, "women_support", "8:00–17:00")
    with pytest.raises(Clash) as clash:
        _hours(desk, "women_support", "9:00–18:00", who=EDITOR_2)
    assert "Hoa (biên tập)" in str(clash.value)
    assert "-    hours: 8:00–17:00" in clash.value.diff
    assert "+    hours: 9:00–18:00" in clash.value.diff
    assert len(desk.changes()) == 1  # the first change is untouched


def test_a_change_written_against_an_old_file_is_refused(desk):
    opened = desk.entry("contacts.yml", "police")
    desk.approve(REVIEWER, _hours(desk, "women_support", "8:00–17:00")["id"])
    text = desk.entry_text("contacts.yml", "police", dict(opened["values"], hours="24 giờ"))
    with pytest.raises(Clash) as clash:
        desk.propose(EDITOR_2, "contacts.yml", text, opened["sha"], "giờ", "police")
    assert "hours" in clash.value.diff


def test_rollback_restores_the_earlier_version_in_one_step(desk, content):
    original = (content / "contacts.yml").read_text()
    desk.approve(REVIEWER, _hours(desk, "women_support", "8:00–17:00")["id"])
    baseline = desk.history("contacts.yml")[-1]
    restored = desk.rollback(REVIEWER, baseline["id"], "")
    assert (content / "contacts.yml").read_text() == original
    assert restored["reason"] == f"Khôi phục phiên bản {baseline['id']}"
    assert "8:00–17:00" in desk.diff(baseline["id"] + 1, restored["id"])["diff"]
    with pytest.raises(Forbidden):
        desk.rollback(EDITOR, baseline["id"], "")


def test_sensitive_files_always_need_a_second_person(desk, content):
    opened = desk.entry("contacts.yml", "police")
    text = desk.entry_text("contacts.yml", "police", dict(opened["values"], hours="24 giờ"))
    desk.self_publish = True
    with pytest.raises(Forbidden):
        desk.propose(EDITOR, "contacts.yml", text, opened["sha"], "giờ", "police", publish=True)
    assert desk.changes() == []  # refused whole: no proposal left behind
    guide = desk.entry("guides.yml", "evidence")
    text = desk.entry_text("guides.yml", "evidence", dict(guide["values"], title="Giữ bằng chứng"))
    version = desk.propose(EDITOR, "guides.yml", text, guide["sha"], "tiêu đề", "evidence",
                           publish=True)
    assert version["approver"] is None
    assert load_content(content).guides["evidence"].title == "Giữ bằng chứng"


def test_changed_example_questions_say_a_retrain_is_due(desk):
    opened = desk.entry("legal.yml", "harassment_fines")
    values = dict(opened["values"])
    values["questions"] += "\nsep sam so em thi bi phat bao nhieu tien"
    text = desk.entry_text("legal.yml", "harassment_fines", values)
    change = desk.propose(EDITOR, "legal.yml", text, opened["sha"], "thêm câu hỏi",
                          "harassment_fines")
    assert desk.approve(REVIEWER, change["id"])["retrain"] is True
    guide = desk.entry("guides.yml", "evidence")
    text = desk.entry_text("guides.yml", "evidence", dict(guide["values"], title="Bằng chứng"))
    change = desk.propose(EDITOR, "guides.yml", text, guide["sha"], "tiêu đề", "evidence")
    assert desk.approve(REVIEWER, change["id"])["retrain"] is False


def test_freshness_lists_old_unverified_and_untested_entries(desk, content):
    text = (content / "legal.yml").read_text()
    text = yamldoc.with_entry(text, "legal", "harassment_fines", {"reviewed": dt.date(2025, 1, 2)})
    (content / "legal.yml").write_text(text)
    page = desk.freshness(dt.date(2026, 11, 30))
    assert ("legal.yml", "harassment_fines") in {(r["file"], r["id"]) for r in page["stale"]}
    assert any(r["id"] == "police" for r in page["untested"])

    desk.mark_checked(REVIEWER, "legal.yml", "harassment_fines", "reviewed", dt.date(2026, 11, 30))
    desk.mark_checked(REVIEWER, "contacts.yml", "police", "tested", dt.date(2026, 11, 30))
    page = desk.freshness(dt.date(2026, 11, 30))
    assert "harassment_fines" not in {r["id"] for r in page["stale"]}
    assert "police" not in {r["id"] for r in page["untested"]}
    latest = desk.history("legal.yml")[0]
    assert (latest["author"], latest["reason"]) == ("Lan (duyệt)", "harassment_fines: đã rà soát")
    with pytest.raises(Forbidden):
        desk.mark_checked(EDITOR, "legal.yml", "harassment_fines", "reviewed", dt.date.today())


def test_people_who_do_not_edit_content_cannot_propose(desk):
    opened = desk.entry("contacts.yml", "police")
    with pytest.raises(Forbidden):
        desk.propose(COUNSELOR, "contacts.yml", desk.live("contacts.yml"), opened["sha"],
                     "x", "police")


def test_publishing_replaces_the_file_whole(desk, content):
    """The bot reads the new file or the old one, never a half-written one."""
    change = _hours(desk, "women_support", "8:00–17:00")
    inode = (content / "contacts.yml").stat().st_ino
    desk.approve(REVIEWER, change["id"])
    assert (content / "contacts.yml").stat().st_ino != inode  # renamed into place
    assert sha((content / "contacts.yml").read_text()) == desk.history("contacts.yml")[0]["sha"]
    assert not list(content.glob(".*.tmp"))


def test_the_lexicon_is_reviewed_and_takes_effect_on_the_crisis_net(desk, lexicon, content):
    """A new teencode line makes the net read it at once; the model needs a retrain."""
    net = SafetyNet(ContentStore(content), LexiconFile(lexicon, check_interval=0).get)
    assert net.assess("em muon tsat") is None  # "tsat" means nothing yet
    text = desk.live("abbreviations.yml")
    bad = text.replace("abbreviations:\n", "abbreviations:\n  hông: không\n", 1)
    with pytest.raises(Invalid) as refused:
        desk.propose(EDITOR, "abbreviations.yml", bad, sha(text), "thêm")
    assert "từ thông thường" in refused.value.problems[0]["message"]

    added = text.replace("abbreviations:\n", "abbreviations:\n  tsat: tự sát\n", 1)
    change = desk.propose(EDITOR, "abbreviations.yml", added, sha(text), "thêm tsat")
    assert net.assess("em muon tsat") is None  # not before review
    with pytest.raises(Forbidden):
        desk.approve(EDITOR_2, change["id"])  # the lexicon needs a reviewer
    assert desk.approve(REVIEWER, change["id"])["retrain"] is True
    assert net.assess("em muon tsat").kind == "self_harm"


def test_a_broken_lexicon_file_keeps_the_last_good_one(lexicon):
    current = LexiconFile(lexicon, check_interval=0)
    assert current.get()["ko"] == "không"
    lexicon.write_text("abbreviations: [ko\n")
    assert current.get()["ko"] == "không"
