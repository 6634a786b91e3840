"""`antam up` names a service that dies and exits instead of hanging."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from tests.stack import stack_env, start_up

pytestmark = pytest.mark.stack


def test_a_dying_service_is_named_with_its_reason(tmp_path):
    env = stack_env(tmp_path)
    # Occupy the action server's port so it cannot start.
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", int(env["ANTAM_ACTIONS_PORT"])))
    blocker.listen()
    try:
        process, _ = start_up(env)
        try:
            code = process.wait(timeout=120)
        except subprocess.TimeoutExpired:
            process.kill()
            pytest.fail("antam up hung after a service died")
        stderr = process.stderr.read()
    finally:
        blocker.close()
    assert code == 1
    assert "service 'actions' stopped unexpectedly" in stderr
    assert "address already in use" in stderr.lower() or "errno 98" in stderr.lower(), stderr
    print(stderr, file=sys.stderr)
