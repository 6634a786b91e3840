"""Zalo's single-use refresh token shared by bot workers (the real PostgreSQL, the Zalo
stand-in): when the access token expires, every worker keeps sending, and only one refresh
is made."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from bot.escalation.envelope import Keyring
from bot.handlers.zalo_api import Tokens, ZaloClient
from bot.handlers.zalo_tokens import SharedTokenStore
from tests.fakes.zalo_api import ZaloStandIn


def test_workers_share_one_refresh_and_keep_sending(database):
    if database.engine.dialect.name != "postgresql":
        pytest.skip("several workers run on PostgreSQL only")
    database.migrate()
    keyring = Keyring.from_spec(Keyring.generate_spec())

    async def scenario(api: ZaloStandIn) -> None:
        clients = [ZaloClient(api.base_url, api.base_url, "app", api.app_secret,
                              SharedTokenStore(database, keyring, Tokens(api.access, api.refresh)))
                   for _ in range(3)]
        await asyncio.gather(*(c.send_text("u", f"trước {n}") for n, c in enumerate(clients)))
        api.expire_access_token()
        await asyncio.gather(*(c.send_text("u", f"sau {n}") for n, c in enumerate(clients)))
        api.expire_access_token()  # a day later: the saved refresh token is the live one
        await clients[2].send_text("u", "hôm sau")
        for client in clients:
            await client.close()

    with ZaloStandIn() as api:
        asyncio.run(scenario(api))
        assert sorted(api.texts_to("u")) == sorted(
            [f"trước {n}" for n in range(3)] + [f"sau {n}" for n in range(3)] + ["hôm sau"])
        assert api.refreshes == 2, "one refresh per expiry, whoever noticed first"
    with database.session() as session:
        stored = b"".join(bytes(row[0]) for row in session.execute(
            text("select sealed from user_memory")))
    assert b"refresh-" not in stored and b"access-" not in stored, "sealed at rest"
