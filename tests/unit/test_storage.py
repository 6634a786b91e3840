"""Schema migrations and writes on SQLite (default) and PostgreSQL (production)."""

from __future__ import annotations

import asyncio
import datetime as dt
from functools import partial

from sqlalchemy import func, inspect, select, text

from bot.storage import ExitLog, ExitMessage, TurnStat
from bot.storage.database import add_turn
from bot.storage.write_behind import WriteBehind


def test_migrations_create_the_schema_and_are_idempotent(database):
    database.migrate()
    database.migrate()
    tables = set(inspect(database.engine).get_table_names())
    assert {"participants", "turn_stats", "monthly_contacts", "alembic_version"} <= tables


def test_a_returning_participant_is_counted_once(database):
    database.migrate()
    day1, day2 = dt.date(2026, 11, 1), dt.date(2026, 11, 2)
    with database.session() as session, session.begin():
        add_turn(session, "p1_a", "console", "greet", False, False, 12, today=day1)
        add_turn(session, "p1_a", "console", "ask_hotline", False, False, 15, today=day2)
        add_turn(session, "p1_b", "console", "danger_now", True, False, 9, today=day2)
    assert database.count_participants() == 2
    with database.engine.connect() as connection:
        rows = connection.execute(text(
            "select intent, crisis from turn_stats order by id")).all()
        last_seen = connection.execute(text(
            "select last_seen from participants where pseudonym = 'p1_a'")).scalar_one()
    assert [r[0] for r in rows] == ["greet", "ask_hotline", "danger_now"]
    assert str(last_seen) == "2026-11-02"


def test_people_are_counted_once_a_month_with_the_days_they_came_and_wiped_on_request(
        database):
    database.migrate()
    with database.session() as session, session.begin():
        for day in (3, 3, 9):  # twice on the 3rd, once on the 9th
            add_turn(session, "p-a", "telegram", "greet", False, False, 10,
                     today=dt.date(2026, 11, day))
        add_turn(session, "p-a", "telegram", "greet", False, False, 10,
                 today=dt.date(2026, 12, 1))
        add_turn(session, "p-b", "zalo", "greet", False, False, 10, today=dt.date(2026, 11, 4))
    with database.engine.connect() as connection:
        rows = connection.execute(text(
            "select month, channel, days, token from monthly_contacts order by month, days"
        )).all()
    assert [r[:3] for r in rows] == [("2026-11", "zalo", 1), ("2026-11", "telegram", 2),
                                     ("2026-12", "telegram", 1)]
    assert rows[1].token != rows[2].token, "one month's token does not match the next"
    assert not any("p-a" in r.token for r in rows)
    database.forget("p-a")
    with database.engine.connect() as connection:
        left = connection.execute(text("select channel from monthly_contacts")).scalars().all()
    assert left == ["zalo"], "/xoa removes every month of the person, no one else"


def test_quick_exit_gets_ids_still_waiting_in_memory(database):
    database.migrate()
    exits = ExitLog(database)
    exits.remember("p1_a", [5, 6])
    exits.flush()
    exits.remember("p1_a", [7])  # not flushed yet: a quick exit must still delete it
    exits.remember("p1_b", [9])
    assert exits.take_all("p1_a") == [5, 6, 7]
    assert exits.take_all("p1_a") == []
    assert exits.take_all("p1_b") == [9]


def test_a_wipe_drops_pending_ids_so_a_later_flush_cannot_restore_them(database):
    database.migrate()
    exits = ExitLog(database)
    exits.remember("p1_a", [5])
    exits.flush()
    exits.remember("p1_a", [6])
    exits.forget("p1_a")
    exits.flush()
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(ExitMessage)) == 0


def test_statistics_are_batched_and_committed_by_flush(database):
    database.migrate()

    async def two_turns_then_flush() -> int:
        writes = WriteBehind(database, delay=60)
        for day in (1, 2):
            writes.add(partial(add_turn, pseudonym="p1_a", channel="telegram", intent="greet",
                               crisis=False, degraded=False, latency_ms=5,
                               today=dt.date(2026, 11, day)))
        before = database.count_participants()  # nothing written on the reply path
        await writes.flush()
        return before

    assert asyncio.run(two_turns_then_flush()) == 0
    assert database.count_participants() == 1
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(TurnStat)) == 2


def test_a_claimed_update_is_busy_then_done_and_a_dead_workers_claim_expires(database, caplog):
    import datetime as dt

    caplog.set_level("INFO", logger="bot.storage.seen")
    from bot.storage.seen import SeenEvents

    database.migrate()
    now = [dt.datetime(2026, 11, 30, 9, 0)]
    seen = SeenEvents(database, dt.timedelta(days=1), clock=lambda: now[0])
    lease = dt.timedelta(seconds=30)
    assert seen.claim("telegram", "1001", lease) == "new"
    assert seen.claim("telegram", "1001", lease) == "busy"  # another worker answers it
    seen.finish("telegram", "1001")
    assert seen.claim("telegram", "1001", lease) == "done"  # a redelivery is dropped
    now[0] += dt.timedelta(hours=2)
    assert seen.claim("telegram", "1001", lease) == "done"  # for the whole window

    assert seen.claim("telegram", "1002", lease) == "new"  # this worker dies here
    now[0] += lease + dt.timedelta(seconds=1)
    assert seen.claim("telegram", "1002", lease) == "new", "the next delivery takes it over"
    said = [r.getMessage() for r in caplog.records]
    assert "telegram: taking over an event whose worker stopped answering" in said
    assert "telegram: an event delivered again was answered before" in said


def test_one_chats_updates_are_claimed_in_order(database):
    import datetime as dt

    from bot.storage.seen import SeenEvents

    database.migrate()
    now = [dt.datetime(2026, 11, 30, 9, 0)]
    seen = SeenEvents(database, dt.timedelta(days=1), clock=lambda: now[0])
    lease = dt.timedelta(seconds=30)
    assert seen.claim("telegram", "11", lease, "chat-a", 11) == "new"
    assert seen.claim("telegram", "12", lease, "chat-a", 12) == "wait", "11 is still in hand"
    assert seen.claim("telegram", "13", lease, "chat-b", 13) == "new", "other chats go on"
    seen.finish("telegram", "11")
    assert seen.claim("telegram", "12", lease, "chat-a", 12) == "new"
    assert seen.claim("telegram", "14", lease, "chat-a", 14) == "wait"
    now[0] += lease + dt.timedelta(seconds=1)  # the worker holding 12 died
    assert seen.claim("telegram", "14", lease, "chat-a", 14) == "new"
