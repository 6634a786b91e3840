"""`antam admin` and `antam counselor` as staff run them: each command in its own process,
with the staff member's own key directory, and a reply piped on stdin (never on the
command line)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ANTAM = str(Path(sys.executable).parent / "antam")
PASSPHRASE = "một mật khẩu đủ dài cho thử nghiệm"


def staff(home: Path, *args: str, stdin: str = "") -> str:
    """Run one command as the staff member whose keys live in ``home``; its output."""
    done = subprocess.run([ANTAM, *args], input=stdin, capture_output=True, text=True,
                          timeout=60, env={**os.environ, "ANTAM_COUNSELOR_HOME": str(home),
                                           "ANTAM_COUNSELOR_PASSPHRASE": PASSPHRASE})
    assert done.returncode == 0, f"antam {' '.join(args[:2])}: {done.stderr}{done.stdout}"
    return done.stdout


def after(label: str, output: str) -> str:
    """The value printed after ``label:`` in a command's output."""
    return re.search(rf"{label}[^:]*:\s*(\S+)", output).group(1)


def enrol_counselor(admin_home: Path, counselor_home: Path, server: str, admin_key: str,
                    notify_telegram_chat: int) -> None:
    """Invite, enrol and approve counselor "Lan", log her in and send her notices to
    ``notify_telegram_chat``."""
    staff(admin_home, "admin", "login", "--server", server)
    invite = staff(admin_home, "admin", "invite", "Nguyễn Thị Lan", "--role", "counselor")
    enrolment = after("Mã ghi danh", invite)
    server_key = re.search(r"--server-key=(\S+)", invite).group(1)
    init = staff(counselor_home, "counselor", "init", "--server", server, f"--code={enrolment}",
                 f"--admin-key={admin_key}", f"--server-key={server_key}", "--alias=Lan")
    key_id = after("Mã khóa", init)
    assert key_id in staff(admin_home, "admin", "pending")
    staff(admin_home, "admin", "approve", key_id, "--yes")
    staff(counselor_home, "counselor", "login")
    staff(counselor_home, "counselor", "notify", "--telegram", str(notify_telegram_chat))
