"""Readiness checks of the parts a process relies on (bot/ops/http.py runs them)."""

from __future__ import annotations

import asyncio

import httpx
from sqlalchemy import text

from bot.storage import Database


def database_check(database: Database):
    """The database answers a trivial query."""
    def query() -> bool:
        with database.session() as session:
            return session.execute(text("SELECT 1")).scalar() == 1

    async def check() -> bool:
        return await asyncio.to_thread(query)
    return check


def http_check(url: str):
    """The service answers its health URL with 200."""
    async def check() -> bool:
        async with httpx.AsyncClient(timeout=1.0) as client:
            return (await client.get(url)).status_code == 200
    return check
