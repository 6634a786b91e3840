"""`antam counselor …` and `antam admin …`: the client on a counselor's or admin's own machine.

Keys are made and kept here, wrapped under a passphrase; case content is
decrypted here, after checking that every reader the server lists was
approved by a pinned admin key. The passphrase is asked with getpass, or read
from ANTAM_COUNSELOR_PASSPHRASE for automation; that is weaker (the
environment can leak into process listings, shell history or crash reports),
so keep it for test machines and scripts.

Exit codes: 0 done, 1 refused by the server or not possible, 2 local problem
(not logged in, session expired, wrong passphrase), 3 a security check failed
(a reader without approval, a tampered item): nothing was shown.
"""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
import os
import re
import shlex
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bot.counselor.casefile import CaseRefused, OpenedItem, open_case, reshares
from bot.counselor.client import ApiClient, ApiError, check_server_url
from bot.counselor.keystore import Keystore, KeystoreError, StoredIdentity, resolve_home
from bot.escalation.crypto import (
    CryptoError,
    PrivateIdentity,
    PublicIdentity,
    WrongPassphrase,
    b64e,
    iso_utc,
    login_message,
    origin_of,
    sign_approval,
    sign_revocation,
)
from bot.escalation.policy import OUTCOMES, ROLES, parse_admin_keys, parse_public_key

ENV_PASSPHRASE = "ANTAM_COUNSELOR_PASSPHRASE"
MIN_PASSPHRASE = 12
MAX_REPLY = 4000  # the server's limit too
EXIT_FAILED, EXIT_LOCAL, EXIT_SECURITY = 1, 2, 3

RISK_LABELS = {"danger": "KHẨN CẤP – đang gặp nguy hiểm", "self_harm": "KHẨN CẤP – nguy cơ tự hại",
               "high": "cao", "standard": "thông thường"}
STATUS_LABELS = {"queued": "đang chờ", "claimed": "đã có người nhận",
                 "ended": "người dùng đã rời – cần ghi kết quả", "closed": "đã đóng",
                 "cancelled": "đã huỷ"}
OUTCOME_LABELS = {"information_given": "đã cung cấp thông tin", "referred": "đã chuyển tuyến",
                  "safety_plan": "đã lập kế hoạch an toàn", "callback_done": "đã gọi lại",
                  "could_not_reach": "không liên lạc được", "user_ended": "người dùng đã kết thúc"}
ROLE_LABELS = {"counselor": "tư vấn viên", "supervisor": "giám sát viên", "admin": "quản trị viên",
               "editor": "biên tập viên", "reviewer": "người duyệt nội dung",
               "manager": "quản lý chương trình"}
SHARE_LABELS = {"transcript": "toàn bộ cuộc trò chuyện với bot", "note": "chỉ một ghi chú",
                "nothing": "không chia sẻ nội dung"}
ACTION_LABELS = {"open": "mở ca", "claim": "nhận ca", "read": "đọc ca", "reply": "trả lời",
                 "close": "đóng ca", "end": "người dùng rời", "shred": "người dùng xoá dữ liệu",
                 "escalate": "báo giám sát viên", "purge": "xoá ca hết hạn lưu",
                 "invite": "mời", "enrol": "ghi danh", "approve": "duyệt khóa",
                 "remove": "gỡ nhân sự", "login": "đăng nhập", "key_added": "thêm khóa mới",
                 "notify_set": "đặt nơi nhận thông báo", "share": "chia sẻ lại cho khóa mới",
                 "requeue": "đưa ca lại hàng chờ", "key_retired": "thu hồi khóa cũ",
                 "key_removed": "thu hồi khóa", "alias_set": "đổi tên hiển thị"}
SERVER_ERRORS = {
    "unauthorized": "không được phép (mã, khóa hoặc phiên không hợp lệ)",
    "forbidden": "bạn không có quyền làm việc này",
    "not_found": "không tìm thấy",
    "conflict": "trạng thái đã thay đổi (ví dụ: ca đã có người nhận hoặc đã đóng)",
    "no_counselors": "hiện không có tư vấn viên nào còn đọc được ca này",
    "bad_request": "yêu cầu không hợp lệ",
    "too_large": "nội dung quá dài",
    "internal": "máy chủ gặp lỗi nội bộ",
    "bad_response": "máy chủ trả lời không đúng định dạng",
}
# C0/C1 controls and bidi overrides: user text must not drive the counselor's terminal.
_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_CHAT_ID = re.compile(r"^-?[0-9]{1,20}$")


class CliError(Exception):
    def __init__(self, message: str, exit_code: int = EXIT_FAILED):
        super().__init__(message)
        self.message, self.exit_code = message, exit_code


@dataclass
class Ctx:
    store: Keystore
    kind: str  # "counselor" or "admin": which identities and which login hint
    authenticated: bool = field(default=False)  # a 401 then means the session ended

    def expired(self) -> CliError:
        return CliError(f"Phiên đăng nhập đã hết hạn, hãy chạy `antam {self.kind} login`.",
                        EXIT_LOCAL)


# --------------------------------------------------------------------------- small helpers


def _clean(value: object) -> str:
    return _UNSAFE.sub("\ufffd", str(value))


def _local_time(iso: str) -> str:
    try:
        return dt.datetime.fromisoformat(iso).astimezone().strftime("%d/%m/%Y %H:%M")
    except (TypeError, ValueError):
        return "?"


def _passphrase(prompt: str = "Mật khẩu khóa: ") -> str:
    return os.environ.get(ENV_PASSPHRASE) or getpass.getpass(prompt)


def _new_passphrase() -> str:
    if os.environ.get(ENV_PASSPHRASE):
        passphrase = os.environ[ENV_PASSPHRASE]
    else:
        passphrase = getpass.getpass("Đặt mật khẩu cho khóa: ")
        if getpass.getpass("Nhập lại mật khẩu: ") != passphrase:
            raise CliError("Hai lần nhập mật khẩu không khớp.", EXIT_LOCAL)
    if len(passphrase) < MIN_PASSPHRASE:
        raise CliError(f"Mật khẩu cần ít nhất {MIN_PASSPHRASE} ký tự.", EXIT_LOCAL)
    return passphrase


def _unlock(stored: StoredIdentity, passphrase: str) -> PrivateIdentity:
    try:
        return stored.unlock(passphrase)
    except WrongPassphrase:
        raise CliError("Sai mật khẩu khóa.", EXIT_LOCAL) from None
    except CryptoError:
        raise CliError(f"Tệp khóa {stored.key_id} bị hỏng hoặc đã bị sửa.", EXIT_SECURITY) from None


def _server(ctx: Ctx) -> str:
    server = ctx.store.config().get("server")
    if not server:
        hint = "antam counselor init" if ctx.kind == "counselor" else "antam admin login --server"
        raise CliError(f"Chưa cấu hình máy chủ, hãy chạy `{hint}`.", EXIT_LOCAL)
    return server


def _checked_server(url: str) -> str:
    try:
        return check_server_url(url)
    except ValueError:
        raise CliError("Địa chỉ máy chủ phải bắt đầu bằng https:// (http:// chỉ dùng cho "
                       "máy này).", EXIT_LOCAL) from None


def _api(ctx: Ctx) -> ApiClient:
    """A client with this machine's session; refuses early when there is none or it ended."""
    session = ctx.store.session()
    if not session or not session.get("token"):
        raise CliError(f"Bạn chưa đăng nhập, hãy chạy `antam {ctx.kind} login`.", EXIT_LOCAL)
    try:
        expires = dt.datetime.fromisoformat(session.get("expires_at", ""))
    except (TypeError, ValueError):
        raise ctx.expired() from None
    if expires.tzinfo is None or expires <= dt.datetime.now(dt.UTC):
        raise ctx.expired()
    ctx.authenticated = True
    return ApiClient(_server(ctx), session["token"])


def _identities(ctx: Ctx) -> list[StoredIdentity]:
    found = ctx.store.identities(ctx.kind)
    if not found:
        raise CliError(f"Máy này chưa có khóa, hãy chạy `antam {ctx.kind} init`.", EXIT_LOCAL)
    return found


def _login_key_id(ctx: Ctx, identity: PrivateIdentity) -> str:
    public = identity.public()
    # The server knows an admin by the Ed25519 key alone (ANTAM_ADMIN_KEYS).
    return PublicIdentity(b"", public.ed25519).key_id if ctx.kind == "admin" else public.key_id


def _print_identity(public: PublicIdentity) -> None:
    print(f"Mã khóa: {public.key_id}")
    print(f"Dấu vân tay: {public.fingerprint()}")
    print("Hãy đọc dấu vân tay này cho quản trị viên qua điện thoại hoặc gặp trực tiếp "
          "(không gửi qua tin nhắn). Khóa chỉ dùng được sau khi quản trị viên duyệt.")


# --------------------------------------------------------------------------- shared commands


def _login(ctx: Ctx, args: argparse.Namespace) -> int:
    """Sign a challenge with the newest approved key (a newer pending one is skipped)."""
    if getattr(args, "server", None):
        ctx.store.save_config(server=_checked_server(args.server))
    identities, passphrase = _identities(ctx), _passphrase()
    with ApiClient(_server(ctx)) as api:
        _pin_or_check_server_key(ctx, api, getattr(args, "server_key", None))
        for stored in identities:
            identity = _unlock(stored, passphrase)
            key_id = _login_key_id(ctx, identity)
            try:
                nonce = api.challenge(key_id)
            except ApiError as exc:
                if exc.status == 401:
                    continue  # not approved (yet), or retired
                raise
            message = login_message(nonce, key_id, origin_of(_server(ctx)))
            session = api.login(key_id, nonce, identity.sign(message))
            ctx.store.save_session(session["token"], session["expires_at"], key_id,
                                   session["role"])
            print(f"Đã đăng nhập với vai trò {ROLE_LABELS.get(session['role'], '?')}, "
                  f"hiệu lực đến {_local_time(session['expires_at'])}.")
            return 0
    raise CliError("Chưa có khóa nào trên máy này được duyệt. Hãy đọc dấu vân tay cho quản trị "
                   "viên và nhờ họ duyệt.", EXIT_FAILED)


def _pin_or_check_server_key(ctx: Ctx, api: ApiClient, given: str | None) -> None:
    """Counselors pinned the server's key at init. An admin pins it at the first log-in:
    given out of band, or taken from the server and shown to compare with what `antam up`
    printed."""
    pinned = ctx.store.config().get("server_key")
    if given:
        try:
            key = parse_public_key(given)
        except ValueError:
            raise CliError("Khóa máy chủ không hợp lệ.", EXIT_LOCAL) from None
        _check_server_key(api, key)
        ctx.store.save_config(server_key=b64e(key))
    elif pinned:
        _check_server_key(api, parse_public_key(pinned))
    elif ctx.kind == "admin":
        key = _server_key(api)
        ctx.store.save_config(server_key=b64e(key))
        print(f"Đã ghim khóa ký của máy chủ, dấu vân tay {PublicIdentity(b'', key).fingerprint()}"
              ". Hãy so với dòng “server signing key” mà `antam up` in ra.")
    else:
        raise CliError("Máy này chưa ghim khóa máy chủ; hãy chạy `antam counselor "
                       "trust-server`.", EXIT_SECURITY)


# --------------------------------------------------------------------------- counselor


def _pinned_keys(admin_keys: list[str], server_key: str) -> tuple[tuple[bytes, ...], bytes]:
    try:
        return parse_admin_keys(",".join(admin_keys)), parse_public_key(server_key)
    except ValueError:
        raise CliError("Khóa quản trị hoặc khóa máy chủ không hợp lệ (cần khóa Ed25519 dạng "
                       "base64url, 32 byte).", EXIT_LOCAL) from None


def _check_server_key(api: ApiClient, pinned: bytes) -> None:
    """The server must sign with the key given out of band, or nothing it sends is trusted."""
    if _server_key(api) != pinned:
        raise CliError("CẢNH BÁO: máy chủ dùng khóa ký khác với khóa bạn được trao. Không "
                       "tiếp tục; hãy báo ngay cho quản trị viên.", EXIT_SECURITY)


def _server_key(api: ApiClient) -> bytes:
    try:
        return parse_public_key(str(api.server().get("signing_key", "")))
    except ValueError:
        raise CliError("Máy chủ trả về khóa ký không hợp lệ.", EXIT_SECURITY) from None


def _init(ctx: Ctx, args: argparse.Namespace) -> int:
    if ctx.store.identities("counselor"):
        raise CliError("Máy này đã có khóa tư vấn viên. Để đổi khóa, hãy chạy "
                       "`antam counselor rotate`.", EXIT_LOCAL)
    server = _checked_server(args.server)
    pinned, server_key = _pinned_keys(args.admin_key, args.server_key)
    identity = PrivateIdentity.generate()
    public = identity.public()
    ctx.store.add_identity(identity, _new_passphrase(), "counselor")
    try:
        with ApiClient(server) as api:
            _check_server_key(api, server_key)
            result = api.enrol(args.code, public.as_json(), args.alias)
    except ApiError as exc:
        ctx.store.remove_identity(public.key_id)  # an unregistered key is of no use
        if exc.status == 401:
            raise CliError("Mã ghi danh không đúng, đã dùng hoặc đã hết hạn.") from None
        raise
    except CliError:
        ctx.store.remove_identity(public.key_id)
        raise
    if result.get("key_id") != public.key_id:
        ctx.store.remove_identity(public.key_id)
        raise CliError("Máy chủ xác nhận một khóa khác với khóa vừa tạo.", EXIT_SECURITY)
    ctx.store.save_config(server=server, admin_keys=[b64e(key) for key in pinned],
                          server_key=b64e(server_key))
    print("Đã tạo khóa trên máy này và ghi danh với máy chủ.")
    print(f"Người dùng sẽ thấy bạn là: Tư vấn viên {_clean(args.alias)}")
    _print_identity(public)
    return 0


def _trust_server(ctx: Ctx, args: argparse.Namespace) -> int:
    """Pin a new server signing key (after the operator changed it), read out of band."""
    try:
        key = parse_public_key(args.server_key)
    except ValueError:
        raise CliError("Khóa máy chủ không hợp lệ (cần khóa Ed25519 dạng base64url, 32 byte).",
                       EXIT_LOCAL) from None
    _unlock(_identities(ctx)[0], _passphrase())  # only the key's owner changes whom it trusts
    ctx.store.save_config(server_key=b64e(key))
    print(f"Từ nay chỉ tin máy chủ có dấu vân tay: {PublicIdentity(b'', key).fingerprint()}")
    return 0


def _alias(ctx: Ctx, args: argparse.Namespace) -> int:
    with _api(ctx) as api:
        alias = api.set_alias(args.alias)["alias"]
    print(f"Người dùng sẽ thấy bạn là: Tư vấn viên {_clean(alias)}")
    return 0


def _trust_admin(ctx: Ctx, args: argparse.Namespace) -> int:
    """Replace the pinned admin keys (after an admin key changed), read out of band."""
    try:
        pinned = parse_admin_keys(",".join(args.admin_key))
    except ValueError:
        raise CliError("Khóa quản trị không hợp lệ (cần khóa Ed25519 dạng base64url, "
                       "32 byte).", EXIT_LOCAL) from None
    _unlock(_identities(ctx)[0], _passphrase())  # only the key's owner changes whom it trusts
    ctx.store.save_config(admin_keys=[b64e(key) for key in pinned])
    print("Từ nay chỉ tin các khóa quản trị có dấu vân tay:")
    for key in pinned:
        print(f"  {PublicIdentity(b'', key).fingerprint()}")
    return 0


def _notify(ctx: Ctx, args: argparse.Namespace) -> int:
    if not args.off and not _CHAT_ID.match(args.telegram or ""):
        raise CliError("Mã cuộc trò chuyện Telegram phải là một số.", EXIT_LOCAL)
    with _api(ctx) as api:
        api.set_notify(None if args.off else f"telegram:{args.telegram}")
    print("Đã tắt thông báo." if args.off else "Sẽ báo ca mới qua Telegram (chỉ mã ca và "
                                               "mức rủi ro, không có nội dung).")
    return 0


def _queue(ctx: Ctx, args: argparse.Namespace) -> int:
    with _api(ctx) as api:
        cases = api.queue()
    if not cases:
        print("Không có ca nào đang mở.")
        return 0
    now = dt.datetime.now(dt.UTC)
    print(f"{'Mã ca':<10}  {'Mức rủi ro':<30}  {'Chờ':>10}  Trạng thái")
    for case in cases:  # the server's order: most urgent, then oldest
        try:
            created = dt.datetime.fromisoformat(case["created_at"])
            minutes = max(0, int((now - created).total_seconds() // 60))
        except (KeyError, TypeError, ValueError):
            minutes = 0
        status = STATUS_LABELS.get(case.get("status"), _clean(case.get("status")))
        if case.get("claimed_by"):
            status += f" ({_clean(case['claimed_by'])})"
        print(f"{_clean(case.get('code')):<10}  "
              f"{RISK_LABELS.get(case.get('risk'), _clean(case.get('risk'))):<30}  "
              f"{minutes:>5} phút  {status}")
    return 0


def _claim(ctx: Ctx, args: argparse.Namespace) -> int:
    try:
        with _api(ctx) as api:
            case = api.claim(args.code)
    except ApiError as exc:
        if exc.status == 409:
            raise CliError(f"Ca {args.code} không còn chờ: đã có người nhận hoặc đã đóng.") \
                from None
        raise
    print(f"Bạn đã nhận ca {case['code']}; người dùng được báo có tư vấn viên. "
          f"Đọc ca: `antam counselor read {case['code']}`.")
    return 0


def _compose(use_editor: bool) -> str:
    """The reply, typed where no other program can see it: piped in, written in $EDITOR,
    or typed at the prompt. Never on the command line (shell history, `ps`)."""
    if use_editor:
        return _from_editor()
    if not sys.stdin.isatty():
        return sys.stdin.read()
    print("Nhập tin nhắn, kết thúc bằng một dòng trống:", file=sys.stderr)
    lines = []
    for line in iter(sys.stdin.readline, ""):
        if not line.strip():
            break
        lines.append(line.rstrip("\n"))
    return "\n".join(lines)


def _from_editor() -> str:
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "nano"
    with tempfile.TemporaryDirectory(prefix="antam-") as folder:  # 0700, removed after
        path = Path(folder) / "tin-nhan.txt"
        path.touch(mode=0o600)
        if subprocess.call([*shlex.split(editor), str(path)]) != 0:
            raise CliError("Trình soạn thảo báo lỗi; chưa gửi gì.", EXIT_LOCAL)
        return path.read_text(encoding="utf-8")


def _reply(ctx: Ctx, args: argparse.Namespace) -> int:
    text = _compose(args.editor).strip()
    if not text or len(text) > MAX_REPLY:
        raise CliError(f"Tin nhắn cần từ 1 đến {MAX_REPLY} ký tự; chưa gửi gì.", EXIT_LOCAL)
    with _api(ctx) as api:
        delivered = api.reply(args.code, text)
    print("Đã gửi tới người dùng." if delivered else
          "Đã lưu nhưng không gửi được: người dùng đã rời cuộc trò chuyện hoặc đã xoá dữ liệu.")
    return 0


def _close(ctx: Ctx, args: argparse.Namespace) -> int:
    if (args.outcome == "referred") != bool(args.referred_to):
        raise CliError("Kết quả 'referred' cần --referred-to; các kết quả khác thì không.",
                       EXIT_LOCAL)
    with _api(ctx) as api:
        api.close_case(args.code, args.outcome, args.referred_to)
    print(f"Đã đóng ca {args.code.upper()}: {OUTCOME_LABELS[args.outcome]}.")
    return 0


def _rotate(ctx: Ctx, args: argparse.Namespace) -> int:
    """A new key, pending until an admin approves it; the old ones stay for old cases."""
    newest = _identities(ctx)[0]
    with _api(ctx) as api:
        passphrase = _passphrase("Mật khẩu khóa hiện tại: ")
        _unlock(newest, passphrase)  # only the owner may add a key
        identity = PrivateIdentity.generate()
        public = identity.public()
        ctx.store.add_identity(identity, passphrase, ctx.kind)
        try:
            api.add_key(public.as_json())
        except ApiError:
            ctx.store.remove_identity(public.key_id)
            raise
    print("Đã tạo khóa mới (chờ duyệt). Khóa cũ được giữ lại để mở các ca cũ.")
    _print_identity(public)
    return 0


# --------------------------------------------------------------------------- reading a case


def _pins(ctx: Ctx) -> tuple[tuple[bytes, ...], bytes]:
    """The admin keys and the server key pinned at init; without them nothing is opened."""
    config = ctx.store.config()
    try:
        admins = parse_admin_keys(",".join(config.get("admin_keys") or []))
        server = parse_public_key(str(config.get("server_key") or ""))
    except (TypeError, ValueError):
        admins, server = (), b""
    if not admins or not server:
        raise CliError("Máy này chưa ghim khóa quản trị và khóa máy chủ nên không kiểm tra được "
                       "ca; không mở ca. Hãy chạy `antam counselor trust-server` hoặc "
                       "`antam counselor trust-admin`.", EXIT_SECURITY)
    return admins, server


def _unlocked(ctx: Ctx) -> dict[str, PrivateIdentity]:
    passphrase = _passphrase()
    return {s.key_id: _unlock(s, passphrase) for s in ctx.store.identities("counselor")}


def _print_body(body: dict) -> None:
    share = body.get("share")
    print(f"Kênh: {_clean(body.get('channel', '?'))}")
    print(f"Người dùng đồng ý chia sẻ: {SHARE_LABELS.get(share, _clean(share))}")
    transcript = body.get("transcript") if isinstance(body.get("transcript"), list) else []
    if transcript:
        print("--- Cuộc trò chuyện với bot ---")
        for turn in filter(lambda t: isinstance(t, dict), transcript):
            who = "Người dùng" if turn.get("from") == "user" else "Bot"
            print(f"{who}: {_clean(turn.get('text', ''))}")
    if body.get("note"):
        print("--- Ghi chú của người dùng ---")
        print(_clean(body["note"]))
    contact = body.get("contact") if isinstance(body.get("contact"), dict) else {}
    if contact.get("method") == "callback":
        window = contact.get("window") or "bất kỳ lúc nào"
        print(f"Liên hệ: gọi lại số {_clean(contact.get('phone') or '?')}, "
              f"khung giờ: {_clean(window)}")
    else:
        print("Liên hệ: nhắn tin trong cuộc trò chuyện này")


def _read(ctx: Ctx, args: argparse.Namespace) -> int:
    admins, server_key = _pins(ctx)
    identities = _unlocked(ctx)
    known = ctx.store.config().get("revocations") or {}
    with _api(ctx) as api:
        doc = api.read(args.code)
        try:
            opened = open_case(doc, admins, server_key, identities, known)
        except CaseRefused as refusal:
            raise CliError(str(refusal), EXIT_SECURITY) from None
        if opened.new_revocations:
            ctx.store.save_config(revocations={**known, **opened.new_revocations})
        current = identities.get(str(ctx.store.session().get("key_id")))
        shares = reshares(doc, opened, identities, current) if current else []
        if shares:  # after a rotation: the current key can open these without the old one
            api.share(args.code, shares)
    case = opened.case
    print(f"Ca {_clean(case.get('code', args.code))} – mức rủi ro: "
          f"{RISK_LABELS.get(opened.sealed_risk, '?')} – "
          f"{STATUS_LABELS.get(case.get('status'), '?')}")
    if opened.sealed_risk and case.get("risk") != opened.sealed_risk:
        print("(Cảnh báo: mức rủi ro máy chủ ghi khác với mức được niêm phong trong ca; "
              "ở trên là mức niêm phong.)")
    if opened.body is None:
        print("Phần chia sẻ ban đầu không mở được bằng khóa trên máy này (ca được mở trước "
              "khi khóa của bạn được duyệt). Hãy hỏi lại người dùng hoặc nhờ giám sát viên.")
    else:
        _print_body(opened.body)
    _print_messages(opened.items[1:])
    if case.get("status") == "ended":
        print("(Người dùng đã rời cuộc trò chuyện.)")
    return 0


def _print_messages(items: list[OpenedItem]) -> None:
    if not items:
        return
    print("--- Tin nhắn ---")
    expected = 1
    for item in items:
        if item.number != expected:
            print(f"(Cảnh báo: thiếu tin nhắn số {expected})")
        expected = item.number + 1
        who = {"user": "Người dùng", "counselor": "Tư vấn viên"}.get(item.direction, "?")
        shown = _clean(item.text) if item.text is not None else \
            "[không mở được bằng khóa trên máy này]"
        print(f"[{_local_time(item.at.replace('Z', '+00:00'))}] {who}: {shown}")


# --------------------------------------------------------------------------- admin


def _admin_init(ctx: Ctx, args: argparse.Namespace) -> int:
    if ctx.store.identities("admin"):
        raise CliError("Máy này đã có khóa quản trị.", EXIT_LOCAL)
    identity = PrivateIdentity.generate()
    ctx.store.add_identity(identity, _new_passphrase(), "admin")
    public = identity.public()
    print("Đã tạo khóa quản trị trên máy này.")
    print(f"Khóa công khai (thêm vào ANTAM_ADMIN_KEYS trên máy chủ, và đưa cho tư vấn viên "
          f"dùng với --admin-key=…): {b64e(public.ed25519)}")
    return 0


def _invite(ctx: Ctx, args: argparse.Namespace) -> int:
    with _api(ctx) as api:
        result = api.invite(args.name, args.role)
    print(f"Đã mời {_clean(args.name)} ({ROLE_LABELS[args.role]}), mã nhân sự "
          f"{result['staff_id']}.")
    print(f"Mã ghi danh (dùng một lần, có hạn): {result['enrolment_code']}")
    print("Hãy trao mã này trực tiếp cho người được mời, không qua kênh công cộng. "
          "Người đó chạy trên máy của mình:")
    admin_key = b64e(_identities(ctx)[0].public.ed25519)
    # "=" because a code or key may start with "-", which argparse takes for an option.
    server_key = ctx.store.config().get("server_key", "")
    print(f"  antam counselor init --server {_server(ctx)} --code={result['enrolment_code']} "
          f"--admin-key={admin_key} --server-key={server_key} --alias=\"<tên hiển thị>\"")
    print("Tên hiển thị (--alias) là tên người dùng thấy; hãy chọn một bí danh, không dùng "
          "tên thật.")
    return 0


def _pending(ctx: Ctx, args: argparse.Namespace) -> int:
    with _api(ctx) as api:
        keys = api.keys("pending")
    if not keys:
        print("Không có khóa nào chờ duyệt.")
    for key in keys:
        print(f"{_clean(key.get('key_id'))}  {_clean(key.get('display_name'))}  "
              f"({ROLE_LABELS.get(key.get('role'), '?')}, {_clean(key.get('staff_id'))})  "
              f"dấu vân tay: {_clean(key.get('fingerprint'))}")
    return 0


def _normalise_fingerprint(text: str) -> str:
    return "".join(text.split()).upper()


def _approve(ctx: Ctx, args: argparse.Namespace) -> int:
    admin = _identities(ctx)[0]
    with _api(ctx) as api:
        key = next((k for k in api.keys("pending") if k.get("key_id") == args.key_id), None)
        if key is None:
            raise CliError(f"Không có khóa {args.key_id} đang chờ duyệt.")
        try:  # the fingerprint shown is computed here, not taken from the server
            identity = PublicIdentity.from_json(key)
        except CryptoError:
            raise CliError("Máy chủ trả về khóa không hợp lệ.", EXIT_SECURITY) from None
        staff_id, role = str(key.get("staff_id")), str(key.get("role"))
        print(f"Người: {_clean(key.get('display_name'))} – {ROLE_LABELS.get(role, '?')} "
              f"({_clean(staff_id)})")
        print(f"Dấu vân tay: {identity.fingerprint()}")  # shown with --yes too
        if not args.yes:
            heard = input("Nhập dấu vân tay mà người đó đọc cho bạn: ")
            if _normalise_fingerprint(heard) != _normalise_fingerprint(identity.fingerprint()):
                raise CliError("Dấu vân tay không khớp: KHÔNG duyệt khóa này.", EXIT_SECURITY)
        signer = _unlock(admin, _passphrase())
        # The person's key in use (if any) is retired by this one: signed here, like the
        # approval, so nobody who can only write to the database can bring it back.
        in_use = [k for k in api.keys("active", staff_id) if k.get("key_id") != args.key_id]
        retire = _revocations(signer, in_use, staff_id, "retired")
        api.approve(identity.key_id, sign_approval(signer, identity, staff_id, role), retire)
    print(f"Đã duyệt khóa {identity.key_id}.")
    if retire:
        print(f"Khóa cũ đã được thu hồi: {', '.join(r['key_id'] for r in retire)}.")
    return 0


def _revocations(signer: PrivateIdentity, keys: list[dict], staff_id: str,
                 reason: str) -> list[dict]:
    """Signed revocations of each approved, not yet revoked key (checked here, not trusted)."""
    now = iso_utc(dt.datetime.now(dt.UTC))
    signed = []
    for key in keys:
        if not key.get("approval") or key.get("revocation"):
            continue
        try:
            identity = PublicIdentity.from_json(key)
        except CryptoError:
            raise CliError("Máy chủ trả về khóa không hợp lệ.", EXIT_SECURITY) from None
        signed.append({"key_id": identity.key_id, "revoked_at": now,
                       "signature": sign_revocation(signer, identity, staff_id, reason, now)})
    return signed


def _remove(ctx: Ctx, args: argparse.Namespace) -> int:
    admin = _identities(ctx)[0]
    with _api(ctx) as api:
        keys = api.keys(staff_id=args.staff_id)
        revocations = _revocations(_unlock(admin, _passphrase()), keys, args.staff_id,
                                   "removed")
        api.remove(args.staff_id, revocations)
    print(f"Đã gỡ {args.staff_id}: mọi khóa của người này đã bị thu hồi (có chữ ký của bạn), "
          "mọi phiên đăng nhập đã kết thúc và họ không nhận thêm ca nào.")
    return 0


def _audit(ctx: Ctx, args: argparse.Namespace) -> int:
    with _api(ctx) as api:
        events = api.audit(args.limit)
    for event in events:
        action = event.get("action", "?")
        print(f"{_local_time(event.get('at', ''))}  {_clean(event.get('actor'))}  "
              f"{ACTION_LABELS.get(action, '?')} [{_clean(action)}]  "
              f"{_clean(event.get('case') or '')}  {_clean(event.get('detail') or '')}".rstrip())
    return 0


# --------------------------------------------------------------------------- parsers


Handler = Callable[[Ctx, argparse.Namespace], int]


def _leaf(group: argparse._SubParsersAction, name: str, help_text: str, handler: Handler,
          kind: str) -> argparse.ArgumentParser:
    parser = group.add_parser(name, help=help_text, description=help_text)
    parser.add_argument("--home", help="thư mục lưu khóa (mặc định ANTAM_COUNSELOR_HOME hoặc "
                                       "~/.config/antam-counselor)")
    parser.set_defaults(handler=handler, kind=kind)
    return parser


def _counselor_parsers(group: argparse._SubParsersAction) -> None:
    def leaf(name: str, help_text: str, handler: Handler) -> argparse.ArgumentParser:
        return _leaf(group, name, help_text, handler, "counselor")

    init = leaf("init", "tạo khóa trên máy này và ghi danh bằng mã được cấp", _init)
    init.add_argument("--server", required=True, help="địa chỉ máy chủ (https://…)")
    init.add_argument("--code", required=True, help="mã ghi danh do quản trị viên trao")
    init.add_argument("--admin-key", action="append", required=True,
                      help="khóa công khai của quản trị viên (có thể lặp lại)")
    init.add_argument("--server-key", required=True,
                      help="khóa ký của máy chủ (quản trị viên trao cùng mã ghi danh)")
    init.add_argument("--alias", required=True,
                      help="tên người dùng thấy (một bí danh, không phải tên thật)")
    leaf("login", "đăng nhập bằng khóa trên máy này", _login)
    notify = leaf("notify", "nhận thông báo ca mới qua Telegram", _notify)
    target = notify.add_mutually_exclusive_group(required=True)
    target.add_argument("--telegram", metavar="CHAT_ID", help="mã cuộc trò chuyện Telegram")
    target.add_argument("--off", action="store_true", help="tắt thông báo")
    leaf("queue", "các ca đang mở, khẩn cấp nhất trước", _queue)
    leaf("claim", "nhận một ca", _claim).add_argument("code")
    leaf("read", "đọc ca (giải mã trên máy này)", _read).add_argument("code")
    reply = leaf("reply", "trả lời người dùng (nội dung đọc từ stdin, lời nhắc hoặc "
                          "trình soạn thảo, không từ dòng lệnh)", _reply)
    reply.add_argument("code")
    reply.add_argument("--editor", action="store_true",
                       help="soạn trong $EDITOR (tệp tạm chỉ bạn đọc được, xoá ngay sau đó)")
    close = leaf("close", "đóng ca và ghi kết quả", _close)
    close.add_argument("code")
    close.add_argument("--outcome", required=True, choices=OUTCOMES)
    close.add_argument("--referred-to", metavar="CONTACT_ID", help="khi chuyển tuyến")
    leaf("rotate", "tạo khóa mới (chờ quản trị viên duyệt)", _rotate)
    leaf("alias", "đổi tên người dùng thấy", _alias).add_argument("alias")
    leaf("trust-server", "ghim khóa ký mới của máy chủ (khi máy chủ đổi khóa)",
         _trust_server).add_argument("--server-key", required=True)
    leaf("trust-admin", "thay các khóa quản trị được tin (khi quản trị viên đổi khóa)",
         _trust_admin).add_argument("--admin-key", action="append", required=True,
                                    help="khóa công khai của quản trị viên (có thể lặp lại)")


def _admin_parsers(group: argparse._SubParsersAction) -> None:
    def leaf(name: str, help_text: str, handler: Handler) -> argparse.ArgumentParser:
        return _leaf(group, name, help_text, handler, "admin")

    leaf("init", "tạo khóa quản trị trên máy này", _admin_init)
    login = leaf("login", "đăng nhập quản trị", _login)
    login.add_argument("--server", help="địa chỉ máy chủ (https://…); lưu lại cho lần sau")
    login.add_argument("--server-key", help="khóa ký của máy chủ, nếu được trao riêng")
    invite = leaf("invite", "mời một người và cấp mã ghi danh", _invite)
    invite.add_argument("name")
    invite.add_argument("--role", required=True, choices=ROLES)
    leaf("pending", "các khóa chờ duyệt", _pending)
    approve = leaf("approve", "duyệt một khóa sau khi đối chiếu dấu vân tay", _approve)
    approve.add_argument("key_id")
    approve.add_argument("--yes", action="store_true",
                         help="không hỏi nhập lại dấu vân tay (vẫn in ra để đối chiếu)")
    leaf("remove", "gỡ một người (kết thúc mọi phiên của họ)", _remove).add_argument("staff_id")
    leaf("audit", "nhật ký thao tác (không có nội dung)", _audit).add_argument(
        "--limit", type=int, default=200)


def add_parsers(subparsers: argparse._SubParsersAction) -> None:
    """Add `counselor` and `admin` to the `antam` command."""
    epilog = (f"Mật khẩu khóa được hỏi khi cần; {ENV_PASSPHRASE} chỉ nên dùng cho chạy tự "
              "động vì kém an toàn hơn.")
    counselor = subparsers.add_parser("counselor", help="công cụ của tư vấn viên",
                                      description="Công cụ của tư vấn viên", epilog=epilog)
    _counselor_parsers(counselor.add_subparsers(dest="counselor_command", required=True))
    admin = subparsers.add_parser("admin", help="công cụ quản trị", description="Công cụ quản trị",
                                  epilog=epilog)
    _admin_parsers(admin.add_subparsers(dest="admin_command", required=True))


# --------------------------------------------------------------------------- entry points


def _server_error(exc: ApiError) -> str:
    if exc.status == 0:
        return "Lỗi: không kết nối được tới máy chủ."
    return f"Lỗi từ máy chủ: {SERVER_ERRORS.get(exc.code, 'lỗi không xác định')} (mã: {exc.code})."


def run(args: argparse.Namespace, *, kdf: dict | None = None) -> int:
    """Run a parsed `counselor`/`admin` command; errors become one Vietnamese line."""
    ctx = Ctx(Keystore(resolve_home(args.home), kdf), args.kind)
    try:
        return args.handler(ctx, args)
    except ApiError as exc:
        if exc.status == 401 and ctx.authenticated:
            ctx.store.clear_session()
            print(ctx.expired().message, file=sys.stderr)
            return EXIT_LOCAL
        print(_server_error(exc), file=sys.stderr)
        return EXIT_FAILED
    except CliError as exc:
        print(exc.message, file=sys.stderr)
        return exc.exit_code
    except KeystoreError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_LOCAL
    except (KeyboardInterrupt, EOFError):
        print("\nĐã huỷ.", file=sys.stderr)
        return 130
    except Exception as exc:  # no tracebacks in a counselor's terminal
        print(f"Lỗi không mong đợi ({type(exc).__name__}).", file=sys.stderr)
        return EXIT_FAILED


def main(argv: list[str] | None = None, *, kdf: dict | None = None) -> int:
    """`antam counselor|admin …` on its own (tests pass a fast ``kdf``)."""
    parser = argparse.ArgumentParser(prog="antam")
    add_parsers(parser.add_subparsers(dest="command", required=True))
    return run(parser.parse_args(argv), kdf=kdf)
