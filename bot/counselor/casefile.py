"""Opening a case on the counselor's own machine, trusting the server for nothing.

Before anything is shown:
- every key that can open an item must carry an approval signed by a pinned admin key;
- an item sealed to a key after an admin revoked it is refused (the client remembers every
  revocation it has verified, so a server that later hides one is caught too);
- every item must be signed by the pinned server key, so whoever can only write to the
  database cannot forge a message or re-seal the case with another call-back number;
- the risk shown is the one sealed inside the case, not the server's plain copy.
Any failure raises ``CaseRefused``: nothing of the case is shown.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.escalation.crypto import (
    CryptoError,
    PrivateIdentity,
    PublicIdentity,
    SealContext,
    TamperError,
    approval_valid,
    open_sealed,
    parse_iso_utc,
    revocation_valid,
    share_item,
    verify_item,
)

# The server accepts a revocation only if signed within this of its own clock (staff.py).
CLOCK_ALLOWANCE = dt.timedelta(minutes=5)


class CaseRefused(Exception):
    """A security check failed; the message says which, in Vietnamese."""


@dataclass(frozen=True)
class Reader:
    """A key that can open items of this case, as verified here."""

    identity: PublicIdentity
    staff_id: str
    role: str
    revoked_at: str | None  # ISO UTC from the admin's signed revocation


@dataclass
class OpenedItem:
    number: int
    direction: str
    at: str
    text: str | None  # None: none of this machine's keys opens it
    opened_with: str | None = None  # the local key id that opened it


@dataclass
class OpenedCase:
    case: dict
    body: dict | None
    items: list[OpenedItem]
    sealed_risk: str | None
    new_revocations: dict[str, dict] = field(default_factory=dict)  # to remember locally


def verify_readers(doc: Mapping[str, Any], admin_keys: tuple[bytes, ...],
                   known_revocations: Mapping[str, dict]) -> tuple[dict[str, Reader],
                                                                    dict[str, dict]]:
    """Every listed key, checked against the pinned admin keys: (readers, revocations to
    remember). A key whose revocation this machine knows stays revoked whatever the server
    now says."""
    readers, learned = {}, {}
    for entry in doc.get("recipients") or []:
        if not isinstance(entry, dict):
            raise CaseRefused("CẢNH BÁO: danh sách người nhận của ca không hợp lệ.")
        key_id = str(entry.get("key_id", "?"))
        try:
            identity = PublicIdentity.from_json(entry)
        except CryptoError:
            raise CaseRefused(f"CẢNH BÁO: khóa {key_id} không hợp lệ.") from None
        staff_id, role = str(entry.get("staff_id") or ""), str(entry.get("role") or "")
        if not approval_valid(admin_keys, identity, staff_id, role,
                              str(entry.get("approval") or "")):
            raise CaseRefused(f"CẢNH BÁO: người nhận {key_id} của ca này không được quản trị "
                              "viên duyệt (chữ ký không hợp lệ). Không mở ca; hãy báo ngay "
                              "cho quản trị viên.")
        revocation = entry.get("revocation") or known_revocations.get(identity.key_id)
        revoked_at = None
        if revocation:
            revoked_at = _check_revocation(admin_keys, identity, staff_id, revocation)
            if identity.key_id not in known_revocations:
                learned[identity.key_id] = dict(revocation, staff_id=staff_id)
        readers[identity.key_id] = Reader(identity, staff_id, role, revoked_at)
    return readers, learned


def _check_revocation(admin_keys: tuple[bytes, ...], identity: PublicIdentity, staff_id: str,
                      revocation: Mapping[str, Any]) -> str:
    revoked_at = str(revocation.get("revoked_at", ""))
    signer_staff = str(revocation.get("staff_id") or staff_id)
    if not revocation_valid(admin_keys, identity, signer_staff, str(revocation.get("reason")),
                            revoked_at, str(revocation.get("signature", ""))):
        raise CaseRefused(f"CẢNH BÁO: thông tin thu hồi khóa {identity.key_id} không hợp lệ. "
                          "Không mở ca; hãy báo ngay cho quản trị viên.")
    return revoked_at


def open_case(doc: Mapping[str, Any], admin_keys: tuple[bytes, ...], server_key: bytes,
              identities: Mapping[str, PrivateIdentity],
              known_revocations: Mapping[str, dict]) -> OpenedCase:
    """Verify everything, then open what this machine's keys can open."""
    readers, learned = verify_readers(doc, admin_keys, known_revocations)
    if not readers:
        raise CaseRefused("CẢNH BÁO: ca này không có danh sách người nhận. Không mở ca.")
    items = sorted(doc.get("items") or [], key=lambda i: i.get("item", -1)
                   if isinstance(i, dict) else -1)
    opened = [_open_item(doc, item, readers, server_key, identities) for item in items]
    if not opened or opened[0].number != 0 or opened[0].direction != "case":
        raise CaseRefused("CẢNH BÁO: ca này thiếu phần nội dung đầu tiên. Không hiển thị ca.")
    body = None
    if opened[0].text is not None:
        try:
            body = json.loads(opened[0].text)
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise CaseRefused("CẢNH BÁO: nội dung ca không đúng định dạng.")
    risk = body.get("risk") if body else None
    return OpenedCase(dict(doc.get("case") or {}), body, opened, risk, learned)


def _open_item(doc: Mapping[str, Any], item: Any, readers: dict[str, Reader],
               server_key: bytes, identities: Mapping[str, PrivateIdentity]) -> OpenedItem:
    number = item.get("item") if isinstance(item, dict) else "?"
    try:
        sealed, shares = item["sealed"], dict(item.get("shares") or {})
        context = SealContext(doc["case_id"], item["item"], item["direction"])
        verify_item(sealed, context, server_key)
        sealed_at = parse_iso_utc(sealed["at"])
        for key_id in set(sealed["recipients"]) | set(shares):
            reader = readers.get(key_id)
            if reader is None:
                raise TamperError("a reader that is not in the verified list")
            if (key_id in sealed["recipients"] and reader.revoked_at
                    and sealed_at > parse_iso_utc(reader.revoked_at) + CLOCK_ALLOWANCE):
                raise CaseRefused(f"CẢNH BÁO: mục {number} được mã hoá cho khóa {key_id} "
                                  "sau khi khóa này đã bị thu hồi. Không hiển thị ca; hãy báo "
                                  "ngay cho quản trị viên.")
        mine = next((k for k in identities if k in sealed["recipients"] or k in shares), None)
        text = None
        if mine is not None:
            text = open_sealed(sealed, identities[mine], context, shares).decode("utf-8")
        return OpenedItem(item["item"], item["direction"], sealed["at"], text, mine)
    except CaseRefused:
        raise
    except (TamperError, CryptoError, KeyError, TypeError, ValueError, AttributeError):
        raise CaseRefused(f"CẢNH BÁO: mục {number} của ca này đã bị thay đổi hoặc hỏng (không "
                          "xác thực được). Không hiển thị ca; hãy báo ngay cho quản trị "
                          "viên.") from None


def reshares(doc: Mapping[str, Any], opened: OpenedCase, identities: Mapping[str, PrivateIdentity],
             current: PrivateIdentity) -> list[dict]:
    """After a rotation: wraps for the current key of every item an older local key opened,
    so the case stays readable once old keys are gone (the server cannot do this)."""
    current_id = current.public().key_id
    by_number = {i.get("item"): i for i in doc.get("items") or [] if isinstance(i, dict)}
    shares = []
    for item in opened.items:
        raw = by_number.get(item.number)
        if item.opened_with in (None, current_id) or raw is None:
            continue
        if current_id in raw["sealed"]["recipients"] or current_id in (raw.get("shares") or {}):
            continue
        context = SealContext(doc["case_id"], item.number, item.direction)
        wrap = share_item(raw["sealed"], identities[item.opened_with], context,
                          current.public(), raw.get("shares") or {})
        shares.append({"item": item.number, "key_id": current_id, "wrap": wrap})
    return shares
