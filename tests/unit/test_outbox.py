"""Messages sent outside a user's turn survive the process that accepted them: kept sealed,
sent once by whichever process serves the channel, retried, and taken over when a worker
dies. On PostgreSQL the processes hear of new messages and desk events through
LISTEN/NOTIFY, and recover from a lost connection by themselves."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from sqlalchemy import select, text

from bot.escalation.envelope import Keyring
from bot.escalation.events import Event, EventBus
from bot.escalation.outbox import Outbox
from bot.escalation.outbox_store import LEASE, MAX_ATTEMPTS, OutboxStore
from bot.escalation.tables import OutboxMessage
from bot.replies import Button, Reply
from bot.storage.notify import RESYNC, PgNotifier

KEYS = Keyring.from_spec(Keyring.generate_spec("k1"))


class Clock:
    def __init__(self) -> None:
        self.now = dt.datetime(2026, 11, 30, 9, 0)

    def __call__(self) -> dt.datetime:
        return self.now


class Phone:
    """A channel's sender that records what it delivered, and can fail on demand."""

    def __init__(self, failures: int = 0) -> None:
        self.sent: list[tuple[str, str]] = []
        self.failures = failures
        self.arrived = asyncio.Event()

    async def __call__(self, chat_id: str, reply: Reply, silent: bool) -> None:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("telegram is down")
        self.sent.append((chat_id, reply.text))
        self.arrived.set()


@pytest.fixture
def db(database):
    database.migrate()
    return database


def test_a_message_accepted_elsewhere_is_kept_sealed_then_sent_once_by_a_worker(db):
    clock = Clock()
    api = Outbox(OutboxStore(db, KEYS, clock))  # the counselors' API: serves no channel
    worker = Outbox(OutboxStore(db, KEYS, clock))
    phone = Phone()
    worker.register("telegram", phone)

    async def run():
        accepted = await api.send("telegram:5550001234", Reply("Tư vấn viên Lan: Em ổn chứ?",
                                                               (Button("Xem", "/held"),)))
        with db.session() as session:
            row = session.scalars(select(OutboxMessage)).one()
            stored = bytes(row.sealed) + row.wrapped.encode()
        task = asyncio.create_task(worker.run())
        await asyncio.wait_for(phone.arrived.wait(), 30)
        while await worker.depth():  # sent, then deleted
            await asyncio.sleep(0.05)
        task.cancel()
        return accepted, stored
    accepted, stored = asyncio.run(run())
    assert accepted
    assert b"5550001234" not in stored and b"Lan" not in stored
    assert phone.sent == [("5550001234", "Tư vấn viên Lan: Em ổn chứ?")]
    with db.session() as session:
        assert session.scalars(select(OutboxMessage)).all() == []


def test_a_worker_that_dies_holding_a_message_lets_another_send_it_after_the_lease(db):
    clock = Clock()
    store = OutboxStore(db, KEYS, clock)
    store.add("telegram:777", Reply("Có tin nhắn mới"), False, claimed=False)
    assert len(store.claim(("telegram",))) == 1  # the first worker claims it, then dies
    assert store.claim(("telegram",)) == []  # nobody else takes it during the lease
    clock.now += LEASE + dt.timedelta(seconds=1)
    [pending] = store.claim(("telegram",))
    assert (pending.to, pending.reply.text) == ("telegram:777", "Có tin nhắn mới")


def test_a_failed_send_is_retried_with_back_off_and_dropped_after_too_many(db):
    clock = Clock()
    store = OutboxStore(db, KEYS, clock)
    outbox = Outbox(store)
    phone = Phone(failures=2)
    outbox.register("telegram", phone)
    asyncio.run(outbox.send("telegram:42", Reply("một")))
    assert phone.sent == [] and store.depth() == 1
    for _ in range(2):
        clock.now += dt.timedelta(minutes=5)
        for pending in store.claim(("telegram",)):
            asyncio.run(outbox._settle(pending))  # noqa: SLF001 (one round of run())
    assert phone.sent == [("42", "một")] and store.depth() == 0

    store.add("telegram:43", Reply("hai"), False, claimed=False)
    rounds = 0
    while claimed := store.claim(("telegram",)):
        rounds += 1
        store.retry(claimed[0].id, claimed[0].attempts)
        clock.now += dt.timedelta(hours=1)
    assert store.depth() == 0 and rounds == MAX_ATTEMPTS


@pytest.mark.parametrize("database", ["postgres"], indirect=True)
def test_two_workers_on_postgresql_send_every_message_exactly_once(database):
    database.migrate()

    async def run():
        accepting = Outbox(OutboxStore(database, KEYS), PgNotifier(database.url))
        workers, phones = [], []
        for _ in range(2):
            notifier = PgNotifier(database.url)
            worker = Outbox(OutboxStore(database, KEYS), notifier)
            phone = Phone()
            worker.register("telegram", phone)
            workers += [asyncio.create_task(notifier.run()), asyncio.create_task(worker.run())]
            await asyncio.wait_for(notifier.connected.wait(), 30)
            phones.append(phone)
        for n in range(40):
            await accepting.send(f"telegram:{n}", Reply(f"tin {n}"))
        while sum(len(p.sent) for p in phones) < 40:
            await asyncio.sleep(0.05)
        for task in workers:
            task.cancel()
        return phones
    phones = asyncio.run(run())
    delivered = sorted(chat for phone in phones for chat, _ in phone.sent)
    assert delivered == sorted(str(n) for n in range(40)), "each once, none lost"


@pytest.mark.parametrize("database", ["postgres"], indirect=True)
def test_desk_events_reach_other_processes_and_a_lost_connection_recovers(database):
    async def run():
        a, b = PgNotifier(database.url), PgNotifier(database.url)
        bus_a, bus_b = EventBus(a), EventBus(b)
        mine, theirs = bus_a.subscribe(), bus_b.subscribe()
        tasks = [asyncio.create_task(x) for x in (a.run(), b.run(), bus_a.run(), bus_b.run())]
        await asyncio.wait_for(a.connected.wait(), 30)
        await asyncio.wait_for(b.connected.wait(), 30)
        for queue in (mine, theirs):  # the first connection's resync
            assert (await asyncio.wait_for(queue.get(), 30)).what == "resync"
        bus_a.publish(Event("queue", "AB12", "opened"))
        there = await asyncio.wait_for(theirs.get(), 30)
        here = await asyncio.wait_for(mine.get(), 30)
        # Our own signal comes back to our listener before one sent later by B: skipped.
        bus_b.publish(Event("queue", "CD34", "claimed"))
        next_here = await asyncio.wait_for(mine.get(), 30)
        await asyncio.wait_for(theirs.get(), 30)
        no_echo = next_here.code == "CD34"
        # PostgreSQL drops every connection of the listener, as in a restart.
        with database.engine.begin() as connection:
            connection.execute(text("select pg_terminate_backend(pid) from pg_stat_activity "
                                    "where query like 'LISTEN%' and pid <> pg_backend_pid()"))
        resync = await asyncio.wait_for(theirs.get(), 60)
        bus_a.publish(Event("case", "AB12", "message", "s1"))
        while (after := await asyncio.wait_for(theirs.get(), 60)).what == "resync":
            pass
        for task in tasks:
            task.cancel()
        return there, here, no_echo, resync, after
    there, here, no_echo, resync, after = asyncio.run(run())
    assert (there.code, there.what) == ("AB12", "opened")
    assert (here.code, here.what) == ("AB12", "opened") and no_echo, "once, not echoed"
    assert resync.what == "resync"
    assert (after.what, after.holder) == ("message", "s1")
    assert RESYNC not in (there.what, after.what)
