"""The counselors' API end to end: the real tornado app on a loopback port, a real
SQLite database, service and hub, and the counselor/admin CLI as staff run it."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import io
import json
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import yaml
from sqlalchemy import select, text

from bot.counselor.cli import main
from bot.counselor.keystore import Keystore
from bot.escalation import api
from bot.escalation.crypto import PrivateIdentity, SealContext, b64d, b64e, seal, sign_approval
from bot.escalation.hub import EscalationHub
from bot.escalation.outbox import Outbox
from bot.escalation.policy import EscalationPolicy
from bot.escalation.service import EscalationService, ServerKeys, build_service
from bot.escalation.tables import Case, CaseItem, Staff, StaffKey, StaffSession
from bot.replies import Reply
from bot.storage import Database
from tests.helpers import ROOT, free_port

FAST_KDF = {"name": "argon2id", "iterations": 1, "lanes": 1, "memory_cost": 8192}
PASSPHRASE = "một mật khẩu đủ dài 42"
SECRET_WORDS = ("Chồng tôi đánh tôi", "0912345678", "sau 20 giờ tối", "mình là tư vấn viên")
BODY = {"share": "transcript",
        "transcript": [{"from": "user", "text": "Chồng tôi đánh tôi tối qua"},
                       {"from": "bot", "text": "Bạn có đang an toàn không?"}],
        "note": "Xin gọi lại sau 20 giờ tối",
        "contact": {"method": "callback", "phone": "0912345678", "window": "sau 20 giờ tối"},
        "risk": "danger", "channel": "telegram"}
TEMPLATES = {"counselor_new_case": "Ca mới {code} ({risk})",
             "escalate_claimed": "{counselor} đã nhận ca {code}",
             "escalate_counselor_says": "{counselor}: {text}",
             "escalate_closed": "Ca {code} đã kết thúc",
             "counselor_new_message": "Tin nhắn mới ở ca {code}"}
TABLES = ("staff", "staff_keys", "cases", "case_items", "subject_keys", "staff_sessions",
          "audit_events")


class Clock:
    """The service's clock, movable forward to expire sessions."""

    def __init__(self) -> None:
        self.offset = dt.timedelta()

    def __call__(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC).replace(tzinfo=None) + self.offset


@dataclass
class Person:
    name: str
    home: Path
    staff_id: str = ""
    key_id: str = ""

    @property
    def token(self) -> str:
        return Keystore(self.home).session()["token"]


@dataclass
class World:
    tmp: Path
    database: Database
    service: EscalationService
    hub: EscalationHub
    clock: Clock
    url: str
    loop: asyncio.AbstractEventLoop
    cli: Callable[..., tuple[int, str, str]]
    admin: Person
    sent: list[tuple[str, str]] = field(default_factory=list)

    def call(self, coroutine):  # run on the server's loop, from the test thread
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(30)

    def open_case(self, subject: str, chat: str, risk: str, body: dict | None = None) -> str:
        """A case whose user chose to see counselors' messages at once (discreet delivery
        is the desk's default, tested in test_escalation_desk)."""
        return self.call(self.hub.open_case(subject, f"telegram:{chat}", risk,
                                            body or BODY, discreet=False)).code

    def http(self, method: str, path: str, token: str | None = None, **kwargs) -> httpx.Response:
        headers = kwargs.pop("headers", {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return httpx.request(method, f"{self.url}/api/v1{path}", headers=headers, timeout=30,
                             **kwargs)

    def counselor(self, name: str, role: str = "counselor", approve: bool = True,
                  alias: str = "Mai") -> Person:
        """Invite, enrol on the person's own home, approve by fingerprint, log in."""
        person = Person(name, self.tmp / name)
        code, out, _ = self.cli("admin", "invite", name, "--role", role, "--home", self.admin.home)
        assert code == 0
        enrolment = re.search(r"Mã ghi danh[^:]*: (\S+)", out).group(1)
        person.staff_id = re.search(r"mã nhân sự (s[0-9a-f]+)", out).group(1)
        init = re.search(r"antam counselor init (.*)", out).group(1)  # as the admin printed
        server_key = re.search(r"--server-key=(\S+)", init).group(1)
        assert server_key == b64e(self.service.cases.signing_key)
        code, out, err = self.cli("counselor", "init", "--server", self.url,
                                  f"--code={enrolment}",  # either may start with "-"
                                  f"--admin-key={self.admin_key()}",
                                  f"--server-key={server_key}", f"--alias={alias}",
                                  "--home", person.home)
        assert code == 0, err
        person.key_id = re.search(r"Mã khóa: (k[0-9a-f]{16})", out).group(1)
        if approve:
            self.approve(person)
        return person

    def approve(self, person: Person) -> None:
        code, out, err = self.cli("admin", "approve", person.key_id, "--yes",
                                  "--home", self.admin.home)
        assert code == 0, err
        code, _, err = self.cli("counselor", "login", "--home", person.home)
        assert code == 0, err

    def admin_key(self) -> str:
        return b64e(Keystore(self.admin.home).identities("admin")[0].public.ed25519)

    def snapshot(self) -> dict[str, list]:
        with self.database.engine.connect() as connection:
            return {table: sorted((tuple(row) for row in connection.execute(
                text(f"SELECT * FROM {table}"))), key=repr) for table in TABLES}

    def case(self, code: str) -> Case:
        with self.database.session() as session:
            return session.scalar(select(Case).where(Case.code == code))


Routes = Callable[[EscalationHub], list[tuple]]  # more routes beside the API (editors')


def _serve(hub: EscalationHub, port: int,
           routes: Routes | None = None) -> tuple[asyncio.AbstractEventLoop, Callable[[], None]]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    async def start() -> asyncio.Task:
        extra = routes(hub) if routes else []
        return asyncio.ensure_future(api.serve(api.make_app(hub, extra), port))

    async def cancel(task: asyncio.Task) -> None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    task = asyncio.run_coroutine_threadsafe(start(), loop).result(10)
    for _ in range(200):
        try:
            httpx.get(f"http://127.0.0.1:{port}/api/v1/openapi.yaml", timeout=1)
            break
        except httpx.TransportError:
            threading.Event().wait(0.02)

    def stop() -> None:
        asyncio.run_coroutine_threadsafe(cancel(task), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()

    return loop, stop


@pytest.fixture()
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
          capsys: pytest.CaptureFixture) -> Iterator[World]:
    yield from make_world(tmp_path, monkeypatch, capsys)


def make_world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture,
               routes: Routes | None = None) -> Iterator[World]:
    monkeypatch.setenv("ANTAM_COUNSELOR_PASSPHRASE", PASSPHRASE)
    monkeypatch.delenv("ANTAM_COUNSELOR_HOME", raising=False)

    def cli(*argv: object, stdin: str = "") -> tuple[int, str, str]:
        """The command as staff run it; ``stdin`` is what they pipe in (a reply's text)."""
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        code = main([str(a) for a in argv], kdf=FAST_KDF)
        out, err = capsys.readouterr()
        return code, out, err

    admin = Person("admin", tmp_path / "admin")
    assert cli("admin", "init", "--home", admin.home)[0] == 0
    admin_key = Keystore(admin.home).identities("admin")[0].public.ed25519
    database = Database(f"sqlite:///{tmp_path / 'a.db'}")
    database.migrate()
    clock = Clock()
    port = free_port()
    service = build_service(database, ServerKeys.ephemeral(), (admin_key,),
                            EscalationPolicy(session_minutes=60, api_port=port), clock=clock)
    outbox = Outbox()
    hub = EscalationHub(service, outbox, lambda key: Reply(TEMPLATES.get(key, key)))
    loop, stop = _serve(hub, port, routes)
    world = World(tmp_path, database, service, hub, clock, f"http://127.0.0.1:{port}", loop,
                  cli, admin)

    async def record(chat_id: str, reply: Reply, silent: bool = False) -> None:
        world.sent.append((chat_id, reply.text))

    outbox.register("telegram", record)
    code, _, err = cli("admin", "login", "--server", world.url, "--home", admin.home)
    assert code == 0, err
    try:
        yield world
    finally:
        stop()


def _queue_codes(out: str) -> list[str]:
    return re.findall(r"^(AT-[A-Z0-9]{5})", out, flags=re.MULTILINE)


# --------------------------------------------------------------------------- the happy path


def test_enrol_approve_claim_read_reply_close(world: World, caplog: pytest.LogCaptureFixture):
    caplog.set_level("DEBUG")
    lan = world.counselor("lan")
    home = ("--home", lan.home)
    assert world.cli("counselor", "notify", "--telegram", "777", *home)[0] == 0

    standard = world.open_case("user:p0", "41", "standard")
    world.clock.offset += dt.timedelta(minutes=3)
    danger = world.open_case("user:p1", "42", "danger")
    # Staff notifications carry the code and risk, never content.
    notices = [t for chat, t in world.sent if chat == "777"]
    assert any(danger in t for t in notices) and any(standard in t for t in notices)
    assert not any(word in t for t in notices for word in SECRET_WORDS)

    code, out, _ = world.cli("counselor", "queue", *home)
    assert code == 0 and _queue_codes(out) == [danger, standard]  # risk first, then age
    assert "KHẨN CẤP" in out.splitlines()[1]

    code, out, _ = world.cli("counselor", "claim", danger, *home)
    assert code == 0 and danger in out
    assert ("42", f"Mai đã nhận ca {danger}") in world.sent  # the alias, not the name

    code, out, err = world.cli("counselor", "read", danger, *home)
    assert code == 0, err
    for expected in ("Chồng tôi đánh tôi tối qua", "Bot: Bạn có đang an toàn không?",
                     "Xin gọi lại sau 20 giờ tối", "gọi lại số 0912345678",
                     "khung giờ: sau 20 giờ tối", "toàn bộ cuộc trò chuyện"):
        assert expected in out

    reply = "Chào bạn, mình là tư vấn viên Lan."
    code, out, _ = world.cli("counselor", "reply", danger, *home, stdin=reply + "\n")
    assert code == 0 and "Đã gửi" in out
    assert ("42", f"Mai: {reply}") in world.sent
    assert world.call(world.hub.relay_from_user("user:p1", "Cảm ơn chị")) is True
    code, out, _ = world.cli("counselor", "read", danger, *home)
    lines = out.splitlines()
    said = [i for i, line in enumerate(lines) if reply in line or "Cảm ơn chị" in line]
    assert len(said) == 2 and "Tư vấn viên" in lines[said[0]] and "Người dùng" in lines[said[1]]

    code, out, err = world.cli("counselor", "close", danger, "--outcome", "safety_plan", *home)
    assert code == 0, err
    assert world.case(danger).status == "closed" and world.case(danger).outcome == "safety_plan"
    assert ("42", f"Ca {danger} đã kết thúc") in world.sent

    code, out, _ = world.cli("admin", "audit", "--home", world.admin.home)
    assert code == 0
    for action in ("[claim]", "[read]", "[reply]", "[close]", "[approve]", "[enrol]"):
        assert action in out
    events = world.http("GET", "/admin/audit", Keystore(world.admin.home).session()["token"])
    assert events.status_code == 200
    everything = out + events.text + caplog.text + json.dumps(
        world.snapshot(), default=repr, ensure_ascii=False)
    for word in (*SECRET_WORDS, "Cảm ơn chị"):
        assert word not in everything


def test_openapi_is_served_and_lists_every_route(world: World):
    response = world.http("GET", "/openapi.yaml")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/yaml")
    assert response.headers["cache-control"] == "no-store"
    spec = yaml.safe_load(response.text)
    assert spec["openapi"].startswith("3.1")
    documented = {(path, method.upper()) for path, ops in spec["paths"].items()
                  for method in ops if method != "parameters"}
    served = {(re.sub(r"\(\[\^/\]\{1,100\}\)", "{}", path), method)
              for path, ops in api.ROUTES for method in ops}
    assert {(re.sub(r"\{[a-z_]+\}", "{}", p), m) for p, m in documented} == served


# --------------------------------------------------------------------------- bad input


def test_bad_input_is_refused_and_changes_nothing(world: World):
    lan, minh = world.counselor("lan"), world.counselor("minh")
    held = world.open_case("user:p1", "42", "high")
    done = world.open_case("user:p2", "43", "standard")
    for code in (held, done):
        assert world.cli("counselor", "claim", code, "--home", lan.home)[0] == 0
    assert world.cli("counselor", "close", done, "--outcome", "information_given",
                     "--home", lan.home)[0] == 0
    before, sent = world.snapshot(), list(world.sent)

    def refused(status: int, error: str, method: str, path: str, token: str | None = None,
                **kwargs) -> None:
        response = world.http(method, path, token, **kwargs)
        assert response.status_code == status, response.text
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["content-type"].startswith("application/json")
        assert response.json()["error"] == error

    messages = f"/cases/{held}/messages"
    refused(400, "bad_request", "POST", messages, lan.token, content=b"{not json")
    refused(400, "bad_request", "POST", messages, lan.token, content=b"\xff\xfe")
    refused(400, "bad_request", "POST", messages, lan.token, json=["a list"])
    refused(400, "bad_request", "POST", messages, lan.token, json={})
    refused(400, "bad_request", "POST", messages, lan.token, json={"text": 5})
    refused(400, "bad_request", "POST", messages, lan.token, content=b"[" * 60000)
    refused(400, "bad_request", "POST", messages, lan.token, json={"text": "  "})
    refused(413, "too_large", "POST", messages, lan.token,
            json={"text": "x" * (api.MAX_BODY + 1)})
    refused(413, "too_large", "POST", messages, lan.token,  # chunked: no Content-Length
            content=iter([b'{"text": "', b"x" * api.MAX_BODY, b'"}']))
    refused(400, "bad_request", "POST", f"/cases/{held}/close", lan.token,
            json={"outcome": "fixed_it"})
    refused(400, "bad_request", "POST", f"/cases/{held}/close", lan.token,
            json={"outcome": "referred"})
    refused(400, "bad_request", "POST", "/enrol", json={"code": "x", "identity": {"a": 1}})
    refused(400, "bad_request", "PUT", "/me/notify", lan.token, json={"address": "zalo:1"})
    refused(400, "bad_request", "GET", "/keys?status=weird", lan.token)
    refused(401, "unauthorized", "GET", "/cases")
    refused(401, "unauthorized", "GET", "/cases", "not-a-token")
    refused(401, "unauthorized", "POST", "/auth/session",
            json={"key_id": lan.key_id, "nonce": "made-up", "signature": "AAAA"})
    refused(403, "forbidden", "POST", messages, minh.token, json={"text": "xin chào"})
    refused(403, "forbidden", "GET", f"/cases/{held}", minh.token)
    refused(403, "forbidden", "GET", "/admin/audit", lan.token)
    refused(403, "forbidden", "POST", "/admin/staff", lan.token,
            json={"display_name": "X", "role": "admin"})
    refused(409, "conflict", "POST", f"/cases/{done}/claim", minh.token)
    refused(404, "not_found", "POST", "/cases/AT-ZZZZZ/claim", lan.token)
    refused(404, "not_found", "GET", "/nowhere")
    refused(404, "not_found", "GET", "/cases/x/y/z", lan.token)
    refused(405, "method_not_allowed", "GET", "/auth/challenge")
    assert world.http("GET", "/auth/session").headers["allow"] == "DELETE, POST"
    refused(405, "method_not_allowed", "PATCH", f"/cases/{held}", lan.token)
    admin_token = Keystore(world.admin.home).session()["token"]
    refused(403, "forbidden", "PUT", "/me/notify", admin_token, json={"address": None})
    refused(403, "forbidden", "GET", "/cases", admin_token)  # admins read no case

    code, _, err = world.cli("counselor", "claim", done, "--home", minh.home)
    assert code == 1 and "không còn chờ" in err and "Traceback" not in err
    code, _, err = world.cli("counselor", "reply", held, "--home", minh.home, stdin="xin chào")
    assert code == 1 and "forbidden" in err and "quyền" in err
    code, _, err = world.cli("counselor", "close", held, "--outcome", "referred",
                             "--home", lan.home)
    assert code == 2 and "--referred-to" in err
    assert world.snapshot() == before and world.sent == sent


def test_unexpected_errors_answer_500_and_log_only_the_type(world: World,
                                                            caplog: pytest.LogCaptureFixture,
                                                            monkeypatch: pytest.MonkeyPatch):
    lan = world.counselor("lan")

    def broken(*_):
        raise RuntimeError("Chồng tôi đánh tôi")

    monkeypatch.setattr(world.service.staff, "keys", broken)
    response = world.http("GET", "/keys", lan.token)
    assert response.status_code == 500 and response.json() == {"error": "internal"}
    assert response.headers["cache-control"] == "no-store"
    assert "RuntimeError" in caplog.text and "Chồng tôi" not in caplog.text
    code, _, err = world.cli("counselor", "notify", "--off", "--home", lan.home)
    assert code == 0, err


def test_expired_session_and_wrong_passphrase(world: World, monkeypatch: pytest.MonkeyPatch):
    lan = world.counselor("lan")
    home = ("--home", lan.home)
    world.clock.offset += dt.timedelta(minutes=61)  # the server's session ended
    code, _, err = world.cli("counselor", "queue", *home)
    assert code == 2 and "Phiên đăng nhập đã hết hạn" in err and "antam counselor login" in err
    assert Keystore(lan.home).session() is None
    world.clock.offset = dt.timedelta()

    store = Keystore(lan.home)  # a session this machine knows has ended: no call at all
    store.save_session("whatever", "2000-01-01T00:00:00Z", lan.key_id, "counselor")
    code, _, err = world.cli("counselor", "queue", *home)
    assert code == 2 and "Phiên đăng nhập đã hết hạn" in err

    before = world.snapshot()
    monkeypatch.setenv("ANTAM_COUNSELOR_PASSPHRASE", "không phải mật khẩu này")
    code, out, err = world.cli("counselor", "login", *home)
    assert code == 2 and "Sai mật khẩu" in err and "Traceback" not in err
    assert world.snapshot() == before  # refused before any call to the server
    monkeypatch.setenv("ANTAM_COUNSELOR_PASSPHRASE", PASSPHRASE)
    assert world.cli("counselor", "login", *home)[0] == 0


# --------------------------------------------------------------------------- concurrency


def test_two_counselors_claiming_at_once_exactly_one_wins(world: World):
    lan, minh = world.counselor("lan"), world.counselor("minh")
    for round_ in range(4):
        code = world.open_case(f"user:c{round_}", str(100 + round_), "high")
        barrier, statuses = threading.Barrier(2), []

        def claim(person: Person, code: str = code, barrier=barrier, statuses=statuses) -> None:
            barrier.wait()
            statuses.append(world.http("POST", f"/cases/{code}/claim", person.token).status_code)

        threads = [threading.Thread(target=claim, args=(p,)) for p in (lan, minh)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert sorted(statuses) == [200, 409]
        assert world.case(code).status == "claimed"


# --------------------------------------------------------------------------- who can read


def test_a_removed_counselor_reads_no_new_case_and_cannot_log_in(world: World):
    lan, minh = world.counselor("lan"), world.counselor("minh")
    old_token = minh.token
    code, _, err = world.cli("admin", "remove", minh.staff_id, "--home", world.admin.home)
    assert code == 0, err

    assert world.http("GET", "/cases", old_token).status_code == 401
    code, _, err = world.cli("counselor", "login", "--home", minh.home)
    assert code == 1 and "được duyệt" in err
    assert world.http("POST", "/auth/challenge", json={"key_id": minh.key_id}).status_code == 401

    case = world.open_case("user:p9", "49", "danger")
    assert world.case(case).recipients.split("\n") == [lan.key_id]
    assert world.cli("counselor", "claim", case, "--home", lan.home)[0] == 0
    code, out, _ = world.cli("counselor", "read", case, "--home", lan.home)
    assert code == 0 and "Chồng tôi đánh tôi" in out

    # Whoever joins after a case was opened can still take it (no case is stranded), and
    # reads from then on; what was shared before stays sealed to the readers of that time.
    another = world.open_case("user:p10", "50", "standard")
    hoa = world.counselor("hoa")
    assert world.cli("counselor", "claim", another, "--home", hoa.home)[0] == 0
    assert world.call(world.hub.relay_from_user("user:p10", "Em vẫn ở đây")) is True
    code, out, err = world.cli("counselor", "read", another, "--home", hoa.home)
    assert code == 0, err
    assert "không mở được bằng khóa trên máy này" in out and "Chồng tôi" not in out
    assert "Người dùng: Em vẫn ở đây" in out


def _rogue_key(world: World) -> str:
    """A key written straight into the database as active, as an intruder could, with an
    approval signed by a key that is no admin's."""
    rogue = PrivateIdentity.generate().public()
    approval = sign_approval(PrivateIdentity.generate(), rogue, "srogue", "counselor")
    now = world.clock()
    with world.database.session() as session, session.begin():
        session.add(Staff(id="srogue", display_name="Rogue", role="counselor", status="active",
                          created_at=now))
        session.flush()
        session.add(StaffKey(key_id=rogue.key_id, staff_id="srogue", x25519=rogue.x25519,
                             ed25519=rogue.ed25519, status="active", approval=approval,
                             created_at=now, approved_at=now))
    return rogue.key_id


def test_a_key_without_a_valid_approval_gets_no_case_and_read_refuses_it(world: World):
    lan = world.counselor("lan")
    rogue = _rogue_key(world)

    code = world.open_case("user:p1", "42", "danger")
    assert world.case(code).recipients.split("\n") == [lan.key_id]
    assert world.cli("counselor", "claim", code, "--home", lan.home)[0] == 0

    # The database is edited so the server lists the rogue key as a reader of the case.
    with world.database.session() as session, session.begin():
        case = session.scalar(select(Case).where(Case.code == code))
        case.recipients = "\n".join(sorted([lan.key_id, rogue]))
    result, out, err = world.cli("counselor", "read", code, "--home", lan.home)
    assert result == 3 and "CẢNH BÁO" in err and rogue in err
    assert "Chồng tôi" not in out + err


def test_read_refuses_a_tampered_item_or_an_extra_reader(world: World):
    lan = world.counselor("lan")
    code = world.open_case("user:p1", "42", "danger")
    assert world.cli("counselor", "claim", code, "--home", lan.home)[0] == 0
    assert world.cli("counselor", "reply", code, "--home", lan.home, stdin="Chào bạn")[0] == 0

    def edit_item(number: int, change: Callable[[dict], None]) -> None:
        with world.database.session() as session, session.begin():
            item = session.scalar(select(CaseItem).where(CaseItem.item == number))
            sealed = json.loads(item.sealed)
            change(sealed)
            item.sealed = json.dumps(sealed)

    def flip(sealed: dict) -> None:
        raw = bytearray(b64d(sealed["ciphertext"]))
        raw[0] ^= 1
        sealed["ciphertext"] = b64e(bytes(raw))

    edit_item(1, flip)
    result, out, err = world.cli("counselor", "read", code, "--home", lan.home)
    assert result == 3 and "mục 1" in err and "Chồng tôi" not in out
    edit_item(1, flip)  # restored
    assert world.cli("counselor", "read", code, "--home", lan.home)[0] == 0

    extra = PrivateIdentity.generate().public().key_id
    edit_item(0, lambda sealed: sealed["recipients"].update({extra: "AAAA"}))
    result, out, err = world.cli("counselor", "read", code, "--home", lan.home)
    assert result == 3 and extra in err and "CẢNH BÁO" in err and "Chồng tôi" not in out


def test_rotation_keeps_old_cases_readable(world: World):
    lan = world.counselor("lan")
    home = ("--home", lan.home)
    old_case = world.open_case("user:p1", "42", "high")
    assert world.cli("counselor", "claim", old_case, *home)[0] == 0

    code, out, err = world.cli("counselor", "rotate", *home)
    assert code == 0, err
    new_key = re.search(r"Mã khóa: (k[0-9a-f]{16})", out).group(1)
    assert world.cli("counselor", "login", *home)[0] == 0  # the pending key is skipped
    code, out, _ = world.cli("admin", "pending", "--home", world.admin.home)
    assert new_key in out
    world.approve(Person("lan", lan.home, lan.staff_id, new_key))
    assert Keystore(lan.home).session()["key_id"] == new_key

    assert world.call(world.hub.relay_from_user("user:p1", "Em vẫn chờ chị")) is True
    code, out, err = world.cli("counselor", "read", old_case, *home)
    assert code == 0 and "Chồng tôi đánh tôi" in out and "Em vẫn chờ chị" in out, err
    # That read re-shared the old items to the new key: the old key can go.
    Keystore(lan.home).remove_identity(lan.key_id)
    code, out, err = world.cli("counselor", "read", old_case, *home)
    assert code == 0 and "Chồng tôi đánh tôi" in out and "Em vẫn chờ chị" in out, err
    new_case = world.open_case("user:p2", "43", "danger")
    assert world.case(new_case).recipients.split("\n") == [new_key]


def test_approval_asks_for_the_fingerprint_read_out(world: World,
                                                    monkeypatch: pytest.MonkeyPatch):
    hoa = world.counselor("hoa", approve=False)
    fingerprint = Keystore(hoa.home).identities("counselor")[0].public.fingerprint()
    approve = ("admin", "approve", hoa.key_id, "--home", world.admin.home)
    monkeypatch.setattr("builtins.input", lambda _prompt: "0000 1111 2222 3333")
    code, out, err = world.cli(*approve)
    assert code == 3 and "không khớp" in err and fingerprint in out
    assert world.http("POST", "/auth/challenge", json={"key_id": hoa.key_id}).status_code == 401
    monkeypatch.setattr("builtins.input", lambda _prompt: fingerprint.lower().replace(" ", ""))
    code, out, err = world.cli(*approve)
    assert code == 0, err
    assert world.cli("counselor", "login", "--home", hoa.home)[0] == 0


# --------------------------------------------------------------------------- handoff safety


def test_a_session_row_written_into_the_database_gets_401_not_the_queue(world: World):
    lan = world.counselor("lan")
    world.open_case("user:p1", "42", "danger")
    forged = "any-token-an-intruder-picks"
    with world.database.session() as session, session.begin():
        row = session.scalar(select(StaffSession))
        session.add(StaffSession(token_hash=hashlib.sha256(forged.encode()).hexdigest(),
                                 staff_id=row.staff_id, role="supervisor", key_id=row.key_id,
                                 expires_at=row.expires_at, mac=row.mac))
    assert world.http("GET", "/cases", forged).status_code == 401
    assert world.http("GET", "/cases", lan.token).status_code == 200


def test_login_doors_slow_down_a_flood(world: World):
    lan = world.counselor("lan")
    statuses = [world.http("POST", "/auth/challenge", json={"key_id": lan.key_id}).status_code
                for _ in range(15)]
    assert statuses[:5] == [200] * 5 and statuses[-3:] == [429] * 3
    response = world.http("POST", "/auth/challenge", json={"key_id": lan.key_id})
    assert int(response.headers["retry-after"]) > 0


def test_a_reply_is_never_taken_from_the_command_line(world: World):
    lan = world.counselor("lan")
    code = world.open_case("user:p1", "42", "danger")
    assert world.cli("counselor", "claim", code, "--home", lan.home)[0] == 0
    with pytest.raises(SystemExit):  # argparse refuses the extra argument
        world.cli("counselor", "reply", code, "Chị ở đây", "--home", lan.home)
    code_, _, err = world.cli("counselor", "reply", code, "--home", lan.home, stdin="  ")
    assert code_ == 2 and "chưa gửi gì" in err


def test_approve_yes_still_prints_the_fingerprint(world: World):
    hoa = world.counselor("hoa", approve=False)
    fingerprint = Keystore(hoa.home).identities("counselor")[0].public.fingerprint()
    code, out, err = world.cli("admin", "approve", hoa.key_id, "--yes", "--home",
                               world.admin.home)
    assert code == 0 and fingerprint in out, err


def test_a_forged_message_in_the_database_stops_the_read(world: World):
    lan = world.counselor("lan")
    code = world.open_case("user:p1", "42", "danger")
    assert world.cli("counselor", "claim", code, "--home", lan.home)[0] == 0
    case = world.case(code)
    readers = world.service.staff.recipients()
    context = SealContext(case.id, 1, "user")
    fake = seal("Em ổn rồi, đừng gọi lại".encode(), readers, context)  # no server signature
    with world.database.session() as session, session.begin():
        session.add(CaseItem(case_id=case.id, item=1, direction="user",
                             sealed=json.dumps({**fake, "at": "2026-11-29T08:00:00Z"}),
                             created_at=world.clock()))
    result, out, err = world.cli("counselor", "read", code, "--home", lan.home)
    assert result == 3 and "mục 1" in err and "Em ổn rồi" not in out + err


# Not fuzzed: operations that would end the fuzzing session itself (log out, replace the
# caller's key), and the spec file itself (YAML, which the checker reads as an object).
NOT_FUZZED = {("DELETE", "/auth/session"), ("POST", "/me/keys"), ("GET", "/openapi.yaml")}


def test_generated_requests_never_get_a_5xx_and_every_answer_matches_the_spec(world: World):
    """Schemathesis reads docs/api/openapi.yaml and sends requests made from it (valid and
    not) as a logged-in supervisor, to the real API over HTTP."""
    import schemathesis
    from hypothesis import HealthCheck, given, settings
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    supervisor = world.counselor("Hoa", role="supervisor")
    world.open_case("p_fuzz", "5550009990001", "high")
    schema = schemathesis.openapi.from_path(ROOT / "docs" / "api" / "openapi.yaml")
    checks = [not_a_server_error, status_code_conformance, content_type_conformance,
              response_schema_conformance]
    tried, failures = 0, []
    for result in schema.get_all_operations():
        operation = result.ok()
        if (operation.method.upper(), operation.path) in NOT_FUZZED:
            continue

        @settings(max_examples=15, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def exercise(case) -> None:
            response = case.call(base_url=f"{world.url}/api/v1",
                                 headers={"Authorization": f"Bearer {supervisor.token}"})
            case.validate_response(response, checks=checks)

        try:
            exercise()
        except BaseException as failure:  # schemathesis raises a BaseExceptionGroup
            if isinstance(failure, KeyboardInterrupt):
                raise
            failures.append(f"{operation.method.upper()} {operation.path}: "
                            f"{str(failure).splitlines()[0][:300]}")
        tried += 1
    assert not failures, "\n".join(failures)
    assert tried >= 20
