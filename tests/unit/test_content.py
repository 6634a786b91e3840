import datetime as dt
import os
import shutil

import pytest
import yaml

from common.content import ContentError, ContentStore, load_content
from tests.helpers import ROOT


@pytest.fixture
def content_dir(tmp_path):
    target = tmp_path / "content"
    shutil.copytree(ROOT / "content", target)
    return target


def _edit(path, change):
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    # Make sure the store sees a new mtime even on coarse file systems.
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))


def _contact(data, cid):
    return next(c for c in data["contacts"] if c["id"] == cid)


def test_shipped_content_is_valid_and_has_emergency_numbers():
    content = load_content(ROOT / "content")
    text, buttons = content.render("crisis")
    assert "113" in text and "115" in text
    assert buttons, "the crisis message offers next steps"


def test_every_contact_has_a_source_and_review_date():
    for contact in load_content(ROOT / "content").contacts.values():
        assert contact.source.startswith("https://")
        assert contact.reviewed > dt.date(2025, 1, 1)


def test_errors_name_file_entry_and_field(content_dir):
    _edit(content_dir / "contacts.yml", lambda d: _contact(d, "legal_aid").pop("source"))
    with pytest.raises(ContentError) as error:
        load_content(content_dir)
    assert "contacts.yml: entry 'legal_aid': field 'source'" in str(error.value)


def test_malformed_phone_number_is_rejected(content_dir):
    _edit(content_dir / "contacts.yml",
          lambda d: _contact(d, "women_support").update(number="1900 96"))
    with pytest.raises(ContentError, match="women_support.*number"):
        load_content(content_dir)


def test_reference_to_an_unknown_contact_is_rejected(content_dir):
    def change(data):
        data["messages"][0]["contacts"] = ["no_such_contact"]
    _edit(content_dir / "messages.yml", change)
    with pytest.raises(ContentError, match="unknown contact 'no_such_contact'"):
        load_content(content_dir)


def test_old_review_date_is_a_warning_not_an_error(content_dir):
    _edit(content_dir / "contacts.yml",
          lambda d: _contact(d, "police").update(reviewed="2020-01-01"))
    content = load_content(content_dir)
    warnings = content.stale_facts(dt.date(2026, 11, 29))
    assert [w.entry for w in warnings] == ["police"]


def test_store_applies_an_edit_without_restart(content_dir):
    store = ContentStore(content_dir)
    assert "1900 969 680" in store.get().render("hotlines")[0]
    _edit(content_dir / "contacts.yml",
          lambda d: _contact(d, "women_support").update(hours="8:00–20:00"))
    assert "8:00–20:00" in store.get().render("hotlines")[0]


def test_store_keeps_last_good_content_after_a_broken_edit(content_dir):
    store = ContentStore(content_dir)
    good = store.get()
    (content_dir / "messages.yml").write_text("messages: [unclosed", encoding="utf-8")
    assert store.get() is good
    assert "messages.yml" in str(store.last_error)
