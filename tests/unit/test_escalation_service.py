"""Cases on the real databases: queue order, exclusive claims, sealed relay, removal,
tampering, timers, retention and crypto-shredding."""

from __future__ import annotations

import datetime as dt
import json
import threading

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select, update

from bot.escalation import crypto
from bot.escalation.crypto import PrivateIdentity, SealContext, TamperError, login_message
from bot.escalation.envelope import Keyring
from bot.escalation.errors import (
    Conflict,
    EscalationError,
    Forbidden,
    NoCounselors,
    Unauthorized,
)
from bot.escalation.policy import EscalationPolicy
from bot.escalation.service import ServerKeys, build_service
from bot.escalation.tables import Case, CaseItem, StaffKey, SubjectKey
from bot.escalation.views import Principal
from bot.escalation.wrapup import WrapUp
from bot.storage import Database
from tests.escalation_support import admin_principal, enrol, log_in, remove

BODY = {"share": "note", "note": "chồng tôi đánh tôi tối qua", "transcript": [],
        "contact": {"method": "chat", "phone": None, "window": None}, "risk": "danger",
        "channel": "telegram"}


class Clock:
    def __init__(self) -> None:
        self.now = dt.datetime(2026, 11, 29, 8, 0)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


class Desk:
    """A service plus an admin and helpers to enrol counselors, as the API would."""

    def __init__(self, database: Database):
        self.admin = PrivateIdentity.generate()
        self.clock = Clock()
        self.data_keys = Keyring.generate_spec("k1")
        self.keys = ServerKeys(Keyring.from_spec(self.data_keys), Ed25519PrivateKey.generate(),
                               b"s" * 32)
        self.service = build_service(database, self.keys, (self.admin.public().ed25519,),
                                     EscalationPolicy(renotify_after_min=5,
                                                      escalate_after_min=15, retention_days=30),
                                     self.clock)
        self.admin_principal = admin_principal(self.service, self.admin)

    def login(self, identity: PrivateIdentity, key_id: str | None = None) -> Principal:
        return log_in(self.service, identity, key_id)

    def counselor(self, name: str, role: str = "counselor") -> tuple[PrivateIdentity, Principal]:
        return enrol(self.service, self.admin, name, role)

    def remove(self, principal: Principal) -> None:
        remove(self.service, self.admin, principal.staff_id)

    def open(self, risk: str = "standard", subject: str = "user:p1"):
        return self.service.cases.open_case(subject, "telegram:5550001234567", risk, BODY)


@pytest.fixture
def desk(database) -> Desk:
    database.migrate()
    return Desk(database)


def _open_item(desk: Desk, principal: Principal, identity: PrivateIdentity, code: str,
               item: int) -> bytes:
    case = desk.service.cases.read(principal, code)
    entry = next(i for i in case["items"] if i["item"] == item)
    return crypto.open_sealed(entry["sealed"], identity,
                              SealContext(case["case_id"], item, entry["direction"]))


def test_queue_puts_danger_first_then_the_oldest(desk):
    _, lan = desk.counselor("Chị Lan")
    first = desk.open("standard")
    desk.clock.advance(minutes=1)
    second = desk.open("standard")
    desk.clock.advance(minutes=1)
    urgent = desk.open("danger")
    assert [c.code for c in desk.service.cases.queue(lan)] == [urgent.code, first.code, second.code]
    assert urgent.position == 1 and second.position == 2


def test_only_approved_counselors_can_open_the_case(desk):
    lan_key, lan = desk.counselor("Chị Lan")
    hoa_key, hoa = desk.counselor("Anh Hòa")
    ticket = desk.open("danger")
    desk.service.cases.claim(lan, ticket.code)
    assert json.loads(_open_item(desk, lan, lan_key, ticket.code, 0))["note"] == BODY["note"]
    outsider = PrivateIdentity.generate()
    case = desk.service.cases.read(lan, ticket.code)
    with pytest.raises(TamperError):
        crypto.open_sealed(case["items"][0]["sealed"], outsider,
                           SealContext(case["case_id"], 0, "case"))


def test_two_counselors_claiming_at_once_exactly_one_wins(desk):
    _, lan = desk.counselor("Chị Lan")
    _, hoa = desk.counselor("Anh Hòa")
    for _ in range(5):
        ticket = desk.open("danger")
        barrier, outcomes = threading.Barrier(2), []

        def claim(principal: Principal, code: str = ticket.code,
                  barrier: threading.Barrier = barrier, outcomes: list = outcomes) -> None:
            barrier.wait()
            try:
                desk.service.cases.claim(principal, code)
                outcomes.append("won")
            except Conflict:
                outcomes.append("lost")

        threads = [threading.Thread(target=claim, args=(p,)) for p in (lan, hoa)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(outcomes) == ["lost", "won"]


def test_relay_is_sealed_both_ways_and_close_needs_a_listed_outcome(desk):
    key, lan = desk.counselor("Chị Lan")
    ticket = desk.open("danger")
    assert desk.service.cases.user_message("user:p1", "em sợ lắm") is None  # nobody holds it yet
    desk.service.cases.claim(lan, ticket.code)
    desk.service.cases.user_message("user:p1", "em sợ lắm")
    route = desk.service.cases.counselor_message(lan, ticket.code, "Chị ở đây với em.")
    assert route.address == "telegram:5550001234567" and route.discreet
    assert _open_item(desk, lan, key, ticket.code, 1).decode() == "em sợ lắm"
    assert _open_item(desk, lan, key, ticket.code, 2).decode() == "Chị ở đây với em."
    with pytest.raises(EscalationError):
        desk.service.cases.close(lan, ticket.code, WrapUp("fixed_everything"))
    with pytest.raises(EscalationError):
        desk.service.cases.close(lan, ticket.code, WrapUp("referred"))  # referred to whom?
    desk.service.cases.close(lan, ticket.code, WrapUp("referred", "anh_duong_hoa_binh"))
    assert desk.service.indicators.outcome_counts() == {"referred": 1}
    with pytest.raises(Conflict):
        desk.service.cases.counselor_message(lan, ticket.code, "còn đó không?")


def test_bad_requests_change_nothing(desk):
    _, lan = desk.counselor("Chị Lan")
    _, hoa = desk.counselor("Anh Hòa")
    ticket = desk.open()
    desk.service.cases.claim(lan, ticket.code)
    with pytest.raises(Forbidden):
        desk.service.cases.counselor_message(hoa, ticket.code, "xin chào")  # not hers
    with pytest.raises(Forbidden):
        desk.service.cases.read(hoa, ticket.code)
    desk.service.cases.close(lan, ticket.code, WrapUp("information_given"))
    with pytest.raises(Conflict):
        desk.service.cases.claim(hoa, ticket.code)  # closed
    with pytest.raises(Forbidden):
        desk.service.cases.queue(desk.admin_principal)  # admins approve keys, they read no case
    case = desk.service.cases.read(lan, ticket.code)
    assert case["case"]["status"] == "closed" and case["case"]["outcome"] == "information_given"
    assert len(case["items"]) == 1


def test_a_session_expires(desk):
    identity, _ = desk.counselor("Chị Lan")
    key_id = identity.public().key_id
    nonce = desk.service.sessions.challenge(key_id)
    signed = identity.sign(login_message(nonce, key_id, "http://127.0.0.1:8788"))
    token, _, _ = desk.service.sessions.login(key_id, nonce, signed)
    with pytest.raises(Unauthorized):  # a challenge is single-use
        desk.service.sessions.login(key_id, nonce, signed)
    desk.clock.advance(hours=9)
    with pytest.raises(Unauthorized, match="expired"):
        desk.service.sessions.authenticate(token)


def test_a_removed_counselor_reads_no_new_case_and_cannot_log_in(desk):
    lan_key, lan = desk.counselor("Chị Lan")
    _, hoa = desk.counselor("Anh Hòa")
    desk.remove(lan)
    ticket = desk.open("danger")
    with pytest.raises(Unauthorized):
        desk.login(lan_key)
    with pytest.raises(Unauthorized):
        desk.service.sessions.authenticate("any-old-token")
    desk.service.cases.claim(hoa, ticket.code)
    sealed = desk.service.cases.read(hoa, ticket.code)
    assert lan_key.public().key_id not in {r["key_id"] for r in sealed["recipients"]}
    with pytest.raises(TamperError):
        crypto.open_sealed(sealed["items"][0]["sealed"], lan_key,
                           SealContext(sealed["case_id"], 0, "case"))


def test_a_key_without_an_admin_signature_receives_nothing(desk, database):
    _, lan = desk.counselor("Chị Lan")
    rogue_key, rogue = desk.counselor("Kẻ mạo danh")
    with database.session() as session, session.begin():  # someone with database access
        session.execute(update(StaffKey).where(StaffKey.key_id == rogue_key.public().key_id)
                        .values(approval=crypto.b64e(b"\0" * 64)))
    ticket = desk.open("danger")
    desk.service.cases.claim(lan, ticket.code)
    recipients = {r["key_id"] for r in desk.service.cases.read(lan, ticket.code)["recipients"]}
    assert rogue_key.public().key_id not in recipients
    with pytest.raises(Unauthorized):
        desk.login(rogue_key)


def test_a_case_with_no_approved_counselor_is_refused_honestly(desk):
    with pytest.raises(NoCounselors):
        desk.open("danger")


def test_tampering_in_the_database_is_detected(desk, database):
    key, lan = desk.counselor("Chị Lan")
    _, hoa = desk.counselor("Anh Hòa")
    first, second = desk.open("danger", "user:p1"), desk.open("standard", "user:p2")
    for ticket in (first, second):
        desk.service.cases.claim(lan, ticket.code)
    with database.session() as session, session.begin():
        ids = {c.code: c.id for c in session.scalars(select(Case))}
        moved = session.scalar(select(CaseItem).where(CaseItem.case_id == ids[first.code]))
        target = session.scalar(select(CaseItem).where(CaseItem.case_id == ids[second.code]))
        target.sealed = moved.sealed  # a ciphertext pasted into another case
    with pytest.raises(TamperError):
        _open_item(desk, lan, key, second.code, 0)
    with database.session() as session, session.begin():
        item = session.scalar(select(CaseItem).where(CaseItem.case_id == ids[first.code]))
        sealed = json.loads(item.sealed)
        hoa_id = next(k for k in sealed["recipients"] if k != key.public().key_id)
        del sealed["recipients"][hoa_id]  # a reader quietly dropped from the list
        item.sealed = json.dumps(sealed)
    with pytest.raises(TamperError):
        _open_item(desk, lan, key, first.code, 0)


def test_waiting_cases_renotify_then_escalate_once(desk):
    desk.counselor("Chị Lan")
    ticket = desk.open("danger")
    desk.clock.advance(minutes=4)
    assert desk.service.cases.due_reminders() == []
    desk.clock.advance(minutes=1)
    due = desk.service.cases.due_reminders()
    assert [(r.code, r.kind) for r in due] == [(ticket.code, "renotify")]
    assert desk.service.cases.due_reminders() == []
    desk.clock.advance(minutes=10)
    kinds = sorted(r.kind for r in desk.service.cases.due_reminders())
    assert kinds == ["escalate", "renotify"]
    desk.clock.advance(minutes=1)
    assert desk.service.cases.due_reminders() == []


def test_retention_purges_finished_cases(desk, database):
    _, lan = desk.counselor("Chị Lan")
    ticket = desk.open()
    desk.service.cases.claim(lan, ticket.code)
    desk.service.cases.close(lan, ticket.code, WrapUp("information_given"))
    desk.clock.advance(days=29)
    assert desk.service.retention.purge() == 0
    desk.service.staff.set_notify_chat(lan, "telegram:5550009876543")
    with database.session() as session:
        assert session.get(SubjectKey, "user:p1") is not None
    desk.clock.advance(days=2)
    assert desk.service.retention.purge() == 1
    with database.session() as session:
        assert session.scalars(select(CaseItem)).all() == []
        assert session.get(SubjectKey, "user:p1") is None  # purged with the user's cases
        assert [k.subject for k in session.scalars(select(SubjectKey))] == [
            f"staff:{lan.staff_id}"]  # the counselor's notification address stays


def test_wiping_shreds_the_subject_key_and_unlinks_the_case(desk, database):
    _, lan = desk.counselor("Chị Lan")
    ticket = desk.open("danger", "user:p1")
    desk.service.cases.claim(lan, ticket.code)
    desk.service.cases.user_message("user:p1", "em sợ lắm")
    with database.session() as session:
        wrapped_routing = session.scalar(select(Case.routing))
    desk.service.retention.shred("user:p1")
    with database.session() as session:
        case = session.scalar(select(Case))
        assert case.subject is None and case.routing is None and case.status == "ended"
        assert session.get(SubjectKey, "user:p1") is None
        assert session.scalars(select(CaseItem)).all() == []
    assert wrapped_routing and b"5550001234567" not in wrapped_routing
    assert desk.service.cases.active_case("user:p1") is None


def test_key_rotation_rewraps_subject_keys(desk):
    _, lan = desk.counselor("Chị Lan")
    ticket = desk.open("danger")
    newest = Keyring.generate_spec("k2")
    desk.service.vault._keyring = Keyring.from_spec(f"{newest},{desk.data_keys}")  # new first
    assert desk.service.vault.rotate() == 1
    desk.service.vault._keyring = Keyring.from_spec(newest)  # then the old key is dropped
    # The user's address is still readable, under the new key only.
    assert desk.service.cases.claim(lan, ticket.code)[1].address == "telegram:5550001234567"


def test_indicators_count_requests_and_outcomes_and_hide_small_cells(desk):
    from bot.cli import protected_requests

    _, lan = desk.counselor("Chị Lan")
    for risk in ("danger", "standard", "standard"):
        ticket = desk.open(risk)
        desk.service.cases.claim(lan, ticket.code)
        desk.service.cases.close(lan, ticket.code, WrapUp("information_given"))
    desk.open("self_harm")
    figures = desk.service.indicators.summary()
    assert figures["requests_by_risk"] == {"danger": 1, "standard": 2, "self_harm": 1}
    assert figures["requests_by_status"] == {"closed": 3, "queued": 1}
    assert figures["outcomes"] == {"information_given": 3}
    assert desk.service.indicators.by_risk_and_status() == (
        ["danger", "self_harm", "standard"], ["closed", "queued"], [[1, 0], [0, 1], [2, 0]])
    published = protected_requests(desk.service.indicators)["requests"]
    assert published["columns"] == ["closed", "queued", "total"]
    assert all(value == "<10" for line in published["rows"].values() for value in line)
