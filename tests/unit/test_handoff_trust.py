"""What someone who can write to the database, but holds none of the server's keys, can no
longer do: log in by writing a session row, revive a removed counselor, forge or re-seal
what a counselor reads. And what a key change can no longer do: strand a case or lose a
user's message. On SQLite and on the real PostgreSQL."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import delete, select, update

from bot.counselor.casefile import CaseRefused, open_case, reshares
from bot.escalation import crypto
from bot.escalation.crypto import PrivateIdentity, SealContext, b64e
from bot.escalation.errors import Conflict, Forbidden, Unauthorized
from bot.escalation.policy import EscalationPolicy
from bot.escalation.service import ServerKeys, build_service
from bot.escalation.tables import (
    Case,
    CaseItem,
    KeyRevocation,
    LoginChallenge,
    Staff,
    StaffKey,
    StaffSession,
)
from tests.escalation_support import admin_principal, enrol, log_in, remove, revocations, rotate

BODY = {"share": "note", "note": "chồng tôi đánh tôi tối qua", "transcript": [],
        "contact": {"method": "callback", "phone": "0912345678", "window": "tối"},
        "risk": "danger", "channel": "telegram"}
USER = "user:p1"


class World:
    def __init__(self, database):
        self.now = dt.datetime(2026, 11, 29, 8, 0)
        self.admin = PrivateIdentity.generate()
        self.keys = ServerKeys.ephemeral()
        self.database = database
        self.service = self._service((self.admin.public().ed25519,))

    def _service(self, admin_keys: tuple[bytes, ...]):
        return build_service(self.database, self.keys, admin_keys, EscalationPolicy(),
                             clock=lambda: self.now)

    def restart_with_admins(self, admin_keys: tuple[bytes, ...]) -> None:
        """The operator restarts the server with another ANTAM_ADMIN_KEYS."""
        self.service = self._service(admin_keys)

    def open(self, risk: str = "danger", subject: str = USER):
        return self.service.cases.open_case(subject, "telegram:5550001234567", risk, BODY)

    def read(self, principal, code: str, identities: dict, known: dict | None = None):
        """What the counselor's client shows, trusting nothing from the server."""
        doc = self.service.cases.read(principal, code)
        return open_case(doc, (self.admin.public().ed25519,),
                         self.service.cases.signing_key, identities, known or {})

    def write(self, change) -> None:
        """A database writer at work, bypassing the service."""
        with self.database.session() as session, session.begin():
            change(session)


@pytest.fixture
def world(database) -> World:
    database.migrate()
    return World(database)


# --------------------------------------------------------------------------- sessions


def test_a_session_row_written_into_the_database_is_no_login(world):
    identity, lan = enrol(world.service, world.admin, "Chị Lan")
    token = "a-token-the-intruder-chose"
    for token_hash in (hashlib.sha256(token.encode()).hexdigest(), "0" * 64):
        world.write(lambda s, h=token_hash: s.add(StaffSession(
            token_hash=h, staff_id=lan.staff_id, role="supervisor", key_id=lan.key_id,
            expires_at=world.now + dt.timedelta(hours=8), mac="0" * 64)))
    with pytest.raises(Unauthorized):
        world.service.sessions.authenticate(token)


def test_a_changed_session_row_authenticates_nobody(world):
    identity, lan = enrol(world.service, world.admin, "Chị Lan")
    world.write(lambda s: s.execute(delete(StaffSession)))  # only this test's session
    token = _login_token(world, identity, lan.key_id)
    assert world.service.sessions.authenticate(token).role == "counselor"
    with world.database.session() as session:
        row = session.scalars(select(StaffSession)).one()
        original = {"role": row.role, "expires_at": row.expires_at}
    for change in ({"role": "supervisor"}, {"expires_at": world.now + dt.timedelta(days=90)}):
        world.write(lambda s, c=change: s.execute(update(StaffSession)
                                                   .values(**{**original, **c})))
        with pytest.raises(Unauthorized):
            world.service.sessions.authenticate(token)
    world.write(lambda s: s.execute(update(StaffSession).values(**original)))
    assert world.service.sessions.authenticate(token).role == "counselor"


def test_a_login_signed_for_another_server_is_refused(world):
    identity, lan = enrol(world.service, world.admin, "Chị Lan")
    nonce = world.service.sessions.challenge(lan.key_id)
    phished = identity.sign(crypto.login_message(nonce, lan.key_id, "https://antam.example.com"))
    with pytest.raises(Unauthorized, match="this server"):
        world.service.sessions.login(lan.key_id, nonce, phished)


def test_sessions_end_with_their_key_their_person_or_their_admin_key(world):
    identity, lan = enrol(world.service, world.admin, "Chị Lan")
    old = _login_token(world, identity, lan.key_id)
    rotate(world.service, world.admin, lan)
    with pytest.raises(Unauthorized):  # the key was retired by its successor
        world.service.sessions.authenticate(old)

    admin_key_id = crypto.PublicIdentity(b"", world.admin.public().ed25519).key_id
    admin_token = _login_token(world, world.admin, admin_key_id)
    assert world.service.sessions.authenticate(admin_token).role == "admin"
    world.restart_with_admins((PrivateIdentity.generate().public().ed25519,))
    with pytest.raises(Unauthorized):  # that admin key left ANTAM_ADMIN_KEYS
        world.service.sessions.authenticate(admin_token)


def _login_token(world: World, identity: PrivateIdentity, key_id: str) -> str:
    nonce = world.service.sessions.challenge(key_id)
    token, _, _ = world.service.sessions.login(key_id, nonce, identity.sign(
        crypto.login_message(nonce, key_id, world.service.policy.origins()[0])))
    return token


def test_login_challenges_stay_bounded_per_key(world):
    _, lan = enrol(world.service, world.admin, "Chị Lan")
    for _ in range(20):
        world.service.sessions.challenge(lan.key_id)
    with world.database.session() as session:
        assert len(session.scalars(select(LoginChallenge)).all()) == 5


# --------------------------------------------------------------------------- removal


def test_a_removed_counselor_is_not_revived_by_status_flags(world):
    lan_key, lan = enrol(world.service, world.admin, "Chị Lan")
    _, hoa = enrol(world.service, world.admin, "Anh Hòa")
    token = _login_token(world, lan_key, lan.key_id)
    remove(world.service, world.admin, lan.staff_id)
    world.write(lambda s: (s.execute(update(Staff).where(Staff.id == lan.staff_id)
                                     .values(status="active")),
                           s.execute(update(StaffKey).where(StaffKey.staff_id == lan.staff_id)
                                     .values(status="active"))))
    ticket = world.open()
    with world.database.session() as session:
        case = session.scalar(select(Case).where(Case.code == ticket.code))
        assert lan.key_id not in case.recipients
    with pytest.raises(Unauthorized):
        world.service.sessions.authenticate(token)
    with pytest.raises(Unauthorized):
        log_in(world.service, lan_key)


def test_removal_and_retirement_need_an_admins_fresh_signature(world):
    _, lan = enrol(world.service, world.admin, "Chị Lan")
    actor = admin_principal(world.service, world.admin)
    with pytest.raises(Conflict, match="revocation"):
        world.service.staff.remove(actor, lan.staff_id, [])
    forged = revocations(world.service, PrivateIdentity.generate(), lan.staff_id, "removed")
    with pytest.raises(Forbidden):
        world.service.staff.remove(actor, lan.staff_id, forged)
    stale = revocations(world.service, world.admin, lan.staff_id, "removed")
    world.now += dt.timedelta(hours=1)  # a signature kept aside and replayed later
    with pytest.raises(Conflict, match="signed now"):
        world.service.staff.remove(actor, lan.staff_id, stale)
    assert world.service.staff.recipients()  # nothing changed: Lan still reads
    new = PrivateIdentity.generate()
    world.service.staff.add_key(lan, new.public())
    with pytest.raises(Conflict, match="revocation"):  # retiring the old key needs one too
        world.service.staff.approve(actor, new.public().key_id, crypto.sign_approval(
            world.admin, new.public(), lan.staff_id, "counselor"))


def test_a_client_that_saw_a_revocation_refuses_items_sealed_to_that_key_afterwards(world):
    """Even if the intruder also deletes the revocation row, a client that ever verified it
    refuses what the server seals to the revived key after the revocation."""
    lan_key, lan = enrol(world.service, world.admin, "Chị Lan")
    hoa_key, hoa = enrol(world.service, world.admin, "Anh Hòa", role="supervisor")
    first = world.open()
    world.service.cases.claim(hoa, first.code)
    remove(world.service, world.admin, lan.staff_id)
    opened = world.read(hoa, first.code, {hoa.key_id: hoa_key})  # Lan was a reader then
    assert opened.new_revocations.keys() == {lan.key_id}
    known = opened.new_revocations
    world.write(lambda s: (s.execute(delete(KeyRevocation)),
                           s.execute(update(Staff).values(status="active")),
                           s.execute(update(StaffKey).values(status="active"))))
    world.now += dt.timedelta(hours=1)
    second = world.open()
    world.service.cases.claim(hoa, second.code)
    with pytest.raises(CaseRefused, match="thu hồi"):
        world.read(hoa, second.code, {hoa.key_id: hoa_key}, known)


# --------------------------------------------------------------------------- forged items


def test_an_item_forged_in_the_database_is_refused_by_the_client(world):
    lan_key, lan = enrol(world.service, world.admin, "Chị Lan")
    ticket = world.open()
    world.service.cases.claim(lan, ticket.code)
    readers = world.service.staff.recipients()
    with world.database.session() as session:
        case_id = session.scalar(select(Case.id).where(Case.code == ticket.code))
    context = SealContext(case_id, 1, "user")
    fake = crypto.seal("Em ổn rồi, chị đừng gọi nữa".encode(), readers, context)
    fake = crypto.sign_item(fake, context, Ed25519PrivateKey.generate(),
                            crypto.iso_utc(world.now))
    world.write(lambda s: s.add(CaseItem(case_id=case_id, item=1, direction="user",
                                         sealed=json.dumps(fake), created_at=world.now)))
    with pytest.raises(CaseRefused, match="mục 1"):
        world.read(lan, ticket.code, {lan.key_id: lan_key})


def test_a_case_resealed_with_another_callback_number_is_refused(world):
    lan_key, lan = enrol(world.service, world.admin, "Chị Lan")
    ticket = world.open()
    world.service.cases.claim(lan, ticket.code)
    assert world.read(lan, ticket.code, {lan.key_id: lan_key}).body["contact"]["phone"] == \
        "0912345678"
    with world.database.session() as session:
        case_id = session.scalar(select(Case.id).where(Case.code == ticket.code))
    context = SealContext(case_id, 0, "case")
    resealed = crypto.seal(json.dumps({**BODY, "contact": {
        "method": "callback", "phone": "0987654321", "window": "tối"}}).encode(),
        world.service.staff.recipients(), context)
    for doc in (resealed, {**resealed, "at": crypto.iso_utc(world.now)}):
        world.write(lambda s, d=doc: s.execute(update(CaseItem).where(CaseItem.item == 0)
                                                .values(sealed=json.dumps(d))))
        with pytest.raises(CaseRefused, match="mục 0"):
            world.read(lan, ticket.code, {lan.key_id: lan_key})


def test_the_client_shows_the_sealed_risk_not_the_servers_copy(world):
    lan_key, lan = enrol(world.service, world.admin, "Chị Lan")
    ticket = world.open("danger")
    world.service.cases.claim(lan, ticket.code)
    world.write(lambda s: s.execute(update(Case).values(risk="standard", risk_rank=2)))
    opened = world.read(lan, ticket.code, {lan.key_id: lan_key})
    assert opened.case["risk"] == "standard" and opened.sealed_risk == "danger"


# --------------------------------------------------------------------------- no stranded case


def test_a_rotation_mid_chat_loses_no_message(world):
    lan_key, lan = enrol(world.service, world.admin, "Chị Lan")
    minh_key, minh = enrol(world.service, world.admin, "Anh Minh", role="supervisor")
    ticket = world.open()
    world.service.cases.claim(lan, ticket.code)
    new_key, lan = rotate(world.service, world.admin, lan)
    assert world.service.cases.user_message(USER, "anh ấy vừa về") is not None
    mine = {new_key.public().key_id: new_key}
    opened = world.read(lan, ticket.code, mine)
    assert opened.items[-1].text == "anh ấy vừa về"  # the new key reads it
    assert opened.body is None  # the case body was sealed to the old key: re-shared below
    supervisor = world.read(minh, ticket.code, {minh.key_id: minh_key})
    assert supervisor.items[-1].text == "anh ấy vừa về"  # and every supervisor
    old_and_new = {**mine, lan_key.public().key_id: lan_key}
    doc = world.service.cases.read(lan, ticket.code)
    shares = reshares(doc, world.read(lan, ticket.code, old_and_new), old_and_new, new_key)
    assert world.service.cases.share(lan, ticket.code, shares) == 1
    assert world.read(lan, ticket.code, mine).body["note"] == BODY["note"]


def test_a_queued_case_whose_only_reader_left_can_still_be_taken(world):
    _, lan = enrol(world.service, world.admin, "Chị Lan")
    ticket = world.open()
    remove(world.service, world.admin, lan.staff_id)
    hoa_key, hoa = enrol(world.service, world.admin, "Anh Hòa")
    world.service.cases.claim(hoa, ticket.code)
    world.service.cases.user_message(USER, "em vẫn ở đây")
    opened = world.read(hoa, ticket.code, {hoa.key_id: hoa_key})
    assert opened.body is None and opened.items[-1].text == "em vẫn ở đây"


def test_removing_the_holder_puts_the_case_back_in_the_queue(world):
    _, lan = enrol(world.service, world.admin, "Chị Lan")
    ticket = world.open()
    world.service.cases.claim(lan, ticket.code)
    remove(world.service, world.admin, lan.staff_id)
    [(code, route)] = world.service.cases.release(lan.staff_id)
    assert code == ticket.code and route.address == "telegram:5550001234567"
    assert world.service.cases.active_case(USER).status == "queued"


def test_a_share_is_only_for_the_sharers_own_keys(world):
    lan_key, lan = enrol(world.service, world.admin, "Chị Lan")
    _, hoa = enrol(world.service, world.admin, "Anh Hòa")
    ticket = world.open()
    world.service.cases.claim(lan, ticket.code)
    wrap = b64e(b"\0" * crypto.WRAP_LEN)
    with pytest.raises(Forbidden):
        world.service.cases.share(lan, ticket.code, [{"item": 0, "key_id": hoa.key_id,
                                                      "wrap": wrap}])
