import datetime as dt
import os
import shutil

import pytest
import yaml

from common.content import ContentError, ContentStore, load_content, render, render_ref
from common.intents import CONTRACT_INTENTS
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
    for key in ("crisis_danger", "crisis_self_harm"):
        rendered = render(content, key)
        assert "113" in rendered.text and "115" in rendered.text
        assert rendered.buttons, "the crisis message offers next steps"
    payloads = [b.payload for b in render(content, "crisis_self_harm").buttons]
    assert "/request_counselor" in payloads


def test_every_contract_intent_has_an_answer():
    assert set(CONTRACT_INTENTS) <= set(load_content(ROOT / "content").answers)


def test_every_fact_has_a_source_and_review_date():
    content = load_content(ROOT / "content")
    for table in (content.contacts, content.legal, content.explainers, content.quiz):
        for entry in table.values():
            assert entry.fact.source.startswith("https://")
            assert entry.fact.reviewed > dt.date(2025, 1, 1)


def test_unverified_entries_are_never_rendered():
    content = load_content(ROOT / "content")
    hidden = [k for k, v in content.legal.items() if not v.fact.verified]
    assert hidden, "the fact base has unverified items; they must stay hidden"
    for key in hidden:
        with pytest.raises(KeyError):
            render_ref(content, f"legal:{key}")


def test_first_messages_are_short():
    content = load_content(ROOT / "content")
    refs = [f"guide:{k}" for k in content.guides] + [f"legal:{k}" for k in content.legal]
    for ref in refs:
        if content.is_shown(ref):
            assert len(render_ref(content, ref).text) <= 700, ref


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


def test_dangling_reference_and_duplicate_id_are_rejected(content_dir):
    def change(data):
        data["guides"][0]["related"] = ["guide:no_such_guide"]
        data["guides"].append(dict(data["guides"][1]))
    _edit(content_dir / "guides.yml", change)
    with pytest.raises(ContentError) as error:
        load_content(content_dir)
    assert "'guide:no_such_guide' does not exist" in str(error.value)
    assert "duplicate id" in str(error.value)


def test_wrong_type_is_rejected(content_dir):
    def change(data):
        data["questions"][0]["answer"] = "b"
    _edit(content_dir / "quiz.yml", change)
    with pytest.raises(ContentError, match="quiz.yml: entry .*: field 'answer'"):
        load_content(content_dir)


def test_a_crisis_phrase_with_two_certainty_flags_is_rejected(content_dir):
    """"Unmistakable" (certain from bare letters) and "confirm" (always uncertain) cannot
    both hold: an editor's slip must not silently pick one."""
    def change(data):
        data["triggers"][0]["phrases"].append(
            {"phrase": "định tự sát", "unmistakable": True, "confirm": True})
    _edit(content_dir / "crisis.yml", change)
    with pytest.raises(ContentError, match="định tự sát.*exclude each other"):
        load_content(content_dir)


def test_showing_an_unverified_entry_is_rejected(content_dir):
    def change(data):
        data["legal"][0]["status"] = "unverified"
    _edit(content_dir / "legal.yml", change)
    with pytest.raises(ContentError, match="unverified and may not be shown"):
        load_content(content_dir)


def test_missing_answer_for_a_contract_intent_is_rejected(content_dir):
    def change(data):
        data["answers"] = [a for a in data["answers"] if a["intent"] != "ask_evidence"]
    _edit(content_dir / "answers.yml", change)
    with pytest.raises(ContentError, match="'ask_evidence': field 'answer'"):
        load_content(content_dir)


def test_old_review_date_is_a_warning_not_an_error(content_dir):
    _edit(content_dir / "contacts.yml",
          lambda d: _contact(d, "police").update(reviewed="2020-01-01"))
    content = load_content(content_dir)
    warnings = content.stale_facts(dt.date(2026, 11, 29))
    assert [w.entry for w in warnings] == ["police"]


def test_store_applies_an_edit_without_restart(content_dir):
    store = ContentStore(content_dir, check_interval=0)
    assert "1900 969 680" in render(store.get(), "hotlines").text
    _edit(content_dir / "contacts.yml",
          lambda d: _contact(d, "women_support").update(hours="8:00–20:00"))
    assert "8:00–20:00" in render(store.get(), "hotlines").text


def test_store_keeps_last_good_content_after_a_broken_edit(content_dir):
    store = ContentStore(content_dir, check_interval=0)
    good = store.get()
    (content_dir / "messages.yml").write_text("messages: [unclosed", encoding="utf-8")
    assert store.get() is good
    assert "messages.yml" in str(store.last_error)


def test_store_looks_at_files_at_most_once_per_interval(content_dir):
    now = [100.0]
    store = ContentStore(content_dir, check_interval=1.0, clock=lambda: now[0])
    assert "1900 969 680" in render(store.get(), "hotlines").text
    _edit(content_dir / "contacts.yml",
          lambda d: _contact(d, "women_support").update(hours="8:00–20:00"))
    now[0] += 0.9
    assert "8:00–20:00" not in render(store.get(), "hotlines").text
    now[0] += 0.2
    assert "8:00–20:00" in render(store.get(), "hotlines").text


def test_privacy_promises_say_exactly_what_is_kept():
    """The greeting, the confidentiality guide and the escalation intro promise only what
    the code keeps (docs/escalation.md, threat model)."""
    content = load_content(ROOT / "content")
    greeting = render(content, "greeting").text
    guide = render_ref(content, "guide:confidentiality").text + render_ref(
        content, "guide:confidentiality", "details").text
    intro = render(content, "escalate_intro").text
    assert "30 phút" in greeting and "Thoát nhanh" in greeting
    payloads = [b.payload for b in render(content, "greeting").buttons]
    assert '/show_entry{"ref":"guide:confidentiality"}' in payloads
    assert payloads[-1] == "/quick_exit"  # never the button a cap drops
    for kept in ("30 phút", "Telegram và Zalo", "48 giờ", "Zalo không cho", "mã ẩn danh",
                 "số gọi lại", "mã hóa", "113", "111", "/xoa"):
        assert kept in guide, kept
    short = content.guides["confidentiality"].short
    assert len(short.splitlines()) == 2, "the promise fits in two short lines"
    first_sentences = greeting.split("\n")[0]
    assert first_sentences.count(". ") + 1 == 2, "who the bot is and what it does: two sentences"
    assert "số gọi lại" in intro and "mã hóa" in intro
    for text in (greeting, guide, intro):  # promises the code cannot keep
        assert "không lưu bản nào" not in text and "không lưu tên hay nội dung" not in text


def test_every_message_that_can_arrive_any_time_must_offer_quick_exit(content_dir):
    def drop_exit(data):
        message = next(m for m in data["messages"] if m["id"] == "escalate_counselor_says")
        message["buttons"] = [b for b in message["buttons"] if b["payload"] != "/quick_exit"]

    _edit(content_dir / "messages.yml", drop_exit)
    with pytest.raises(ContentError) as error:
        load_content(content_dir)
    assert any("escalate_counselor_says" in str(p) and "/quick_exit" in str(p)
               for p in error.value.problems)


def _problems(content_dir) -> str:
    with pytest.raises(ContentError) as error:
        load_content(content_dir)
    return str(error.value)


def _guide(data, gid):
    return next(g for g in data["guides"] if g["id"] == gid)


def test_a_contact_must_say_whether_it_is_verified(content_dir):
    _edit(content_dir / "contacts.yml", lambda d: _contact(d, "legal_aid").pop("status"))
    assert "legal_aid': field 'status'" in _problems(content_dir)


def test_an_unverified_number_typed_into_an_answer_is_rejected(content_dir):
    _edit(content_dir / "contacts.yml",
          lambda d: _contact(d, "anh_duong_quang_ninh").update(status="unverified"))
    problems = _problems(content_dir)
    assert "number 1800 1769 (anh_duong_quang_ninh) is unverified" in problems
    assert "guides.yml: entry 'domestic_violence'" in problems


def test_an_unverified_contact_in_a_list_is_never_shown(content_dir):
    def change(data):
        _contact(data, "legal_aid")["status"] = "unverified"
    _edit(content_dir / "contacts.yml", change)
    assert "messages.yml: entry 'hotlines'" in _problems(content_dir)


def test_a_number_not_in_contacts_is_rejected(content_dir):
    _edit(content_dir / "guides.yml", lambda d: _guide(d, "evidence").update(
        short=_guide(d, "evidence")["short"] + "\nGọi 0243 999 8888 để được giúp."))
    assert "number 0243 999 8888 is not in contacts.yml" in _problems(content_dir)


def test_a_paid_number_says_its_cost_and_follows_the_free_line(content_dir):
    _edit(content_dir / "guides.yml", lambda d: _guide(d, "evidence").update(
        short="Gọi 1900 969 680 (24/7).\nHoặc 1800 8027 (miễn phí, 24/7)."))
    problems = _problems(content_dir)
    assert "number 1900 969 680 is paid: say so on the same line" in problems
    assert "a paid number needs the free 24/7 line before it" in problems


def test_a_contact_list_puts_the_free_line_before_a_paid_one(content_dir):
    def change(data):
        hotlines = next(m for m in data["messages"] if m["id"] == "hotlines")
        hotlines["contacts"] = ["police", "women_support", "anh_duong_hoa_binh"]
    _edit(content_dir / "messages.yml", change)
    assert "hotlines': field 'text': a paid number needs the free 24/7 line" in _problems(
        content_dir)


def test_shipped_lists_show_the_free_line_first_and_the_cost_of_paid_ones():
    content = load_content(ROOT / "content")
    for key, message in content.messages.items():
        if "women_support" in message.contact_ids:
            text = render(content, key).text
            assert text.index("1800 8027") < text.index("1900 969 680"), key
            assert "cước" in next(line for line in text.splitlines() if "1900" in line)


def test_a_legal_entry_needs_an_article(content_dir):
    def change(data):
        data["legal"][0]["citation"]["article"] = ""
    _edit(content_dir / "legal.yml", change)
    assert "field 'citation': needs law and article" in _problems(content_dir)


def test_quiz_feedback_never_repeats_the_answer(content_dir):
    def change(data):
        data["questions"][0]["explanation"] = "Đúng. " + data["questions"][0]["explanation"]
    _edit(content_dir / "quiz.yml", change)
    assert "starts with the answer" in _problems(content_dir)


def test_men_are_shown_only_services_that_take_men():
    content = load_content(ROOT / "content")
    text = render_ref(content, "guide:men_victims").text
    for contact in content.contacts.values():
        if contact.number in text:
            assert {"men", "children"} & set(contact.audience), contact.id  # 111: boys
    assert "1800 1233" in text and "113" in text


def test_no_current_answer_cites_a_replaced_decree():
    content = load_content(ROOT / "content")
    shown = [render_ref(content, f"{kind}:{key}", part).text
             for kind, table in (("legal", content.legal), ("guide", content.guides))
             for key in table if content.is_shown(f"{kind}:{key}")
             for part in ("short", "details")]
    shown += [q.explanation for q in content.verified_quiz()]
    assert not [t for t in shown if "12/2022" in t]


def test_not_questions_keep_an_intents_examples_as_no_entry(content_dir):
    content = load_content(content_dir)
    assert "request_counselor" in content.not_questions
    assert "request_counselor" in content.specific_intents(), "a confident entry may answer"
    assert "request_counselor" not in content.entry_intents(), "its examples stay 'none'"
    _edit(content_dir / "answers.yml", lambda d: d.update(not_questions=[]))
    assert "request_counselor" in load_content(content_dir).entry_intents()


def test_not_questions_must_name_intents(content_dir):
    _edit(content_dir / "answers.yml", lambda d: d.update(not_questions=["ask_for_pizza"]))
    with pytest.raises(ContentError, match="ask_for_pizza.*not an intent"):
        load_content(content_dir)


def test_a_paid_contact_asked_for_by_name_comes_after_the_free_line():
    content = load_content(ROOT / "content")
    paid = render_ref(content, "contact:women_support").text.splitlines()
    assert paid[0].startswith("• 1800 8027") and "miễn phí" in paid[0]
    assert paid[-1].startswith("• 1900 969 680") and "cước" in paid[-1]
    assert render_ref(content, "contact:anh_duong_hoa_binh").text.count("•") == 1
