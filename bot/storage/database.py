"""Engine, migrations and the few writes the core needs."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import case, create_engine, delete, event, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.storage.models import ExitMessage, MonthlyContact, Participant, TurnStat

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # WAL lets `antam up` and `antam chat` share the file; secure_delete
    # overwrites deleted rows instead of leaving them in free pages.
    # synchronous=NORMAL is safe from corruption in WAL mode and saves an fsync
    # per turn; a power cut may lose the last statistics rows, nothing more.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


class Database:
    def __init__(self, url: str):
        self.url = url
        # pre_ping: after a database restart, a pooled connection that died is replaced on
        # checkout instead of failing the request that drew it.
        self.engine: Engine = create_engine(url, future=True,
                                            pool_pre_ping=not url.startswith("sqlite"))
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    def migrate(self) -> None:
        """Bring the schema to the newest Alembic revision."""
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        with self.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

    def session(self) -> Session:
        return self._sessions()

    def forget(self, pseudonym: str) -> None:
        """Delete everything linked to a pseudonym (turn statistics never are)."""
        with self.session() as session, session.begin():
            participant = session.get(Participant, pseudonym)
            if participant is not None:
                months = _months(participant.first_seen, participant.last_seen)
                session.execute(delete(MonthlyContact).where(MonthlyContact.token.in_(
                    [contact_token(pseudonym, m) for m in months])))
            session.execute(delete(ExitMessage).where(ExitMessage.pseudonym == pseudonym))
            session.execute(delete(Participant).where(Participant.pseudonym == pseudonym))

    def make_private(self) -> None:
        """SQLite files readable by their owner only (a file made before the umask was set
        keeps its old mode otherwise)."""
        path = self.engine.url.database
        if self.engine.dialect.name != "sqlite" or not path or path == ":memory:":
            return
        for suffix in ("", "-wal", "-shm"):
            file = Path(path + suffix)
            if file.exists():
                file.chmod(0o600)

    def scrub(self) -> None:
        """Make deleted rows unrecoverable from the database files where the engine allows.

        SQLite: secure_delete zeroes deleted rows in the main file, but the WAL keeps
        copies of the pages until a checkpoint; TRUNCATE copies them back (zeroed) and
        empties the WAL. Raises if a reader kept the checkpoint from finishing, so the
        caller retries. PostgreSQL keeps dead tuples until VACUUM and WAL segments until
        they are recycled or archived: the operator's part (docs/escalation.md).
        """
        if self.engine.dialect.name != "sqlite":
            return
        with self.engine.connect() as connection:
            busy, _, _ = connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").one()
        if busy:
            raise RuntimeError("the WAL checkpoint could not finish (a reader was active)")

    def count_participants(self) -> int:
        with self.session() as session:
            return session.scalar(select(func.count()).select_from(Participant)) or 0


def add_turn(
    session: Session,
    pseudonym: str,
    channel: str,
    intent: str | None,
    crisis: bool,
    degraded: bool,
    latency_ms: int,
    today: dt.date | None = None,
) -> None:
    """Count a turn and note the participant's day, inside the caller's transaction."""
    day = today or dt.date.today()
    participant = session.get(Participant, pseudonym)
    if participant is None:
        session.add(Participant(pseudonym=pseudonym, channel=channel,
                                first_seen=day, last_seen=day))
    else:
        participant.last_seen = day
    session.add(TurnStat(day=day, channel=channel, intent=intent, crisis=crisis,
                         degraded=degraded, latency_ms=latency_ms))
    _note_contact(session, pseudonym, channel, day)


def contact_token(pseudonym: str, month: str) -> str:
    """The pseudonym's token for one month: another month's cannot be matched to it."""
    return hashlib.sha256(f"contact\0{month}\0{pseudonym}".encode()).hexdigest()


def _note_contact(session: Session, pseudonym: str, channel: str, day: dt.date) -> None:
    """Count the person once in the month, and each day they came. An upsert: two workers
    writing the same person's first turns of a month at once must not fail each other's
    batch of statistics."""
    month = f"{day.year:04d}-{day.month:02d}"
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = insert(MonthlyContact).values(month=month, token=contact_token(pseudonym, month),
                                              channel=channel, last_day=day, days=1)
    new_day = MonthlyContact.last_day != statement.excluded.last_day
    session.execute(statement.on_conflict_do_update(
        index_elements=["month", "token"],
        set_={"days": MonthlyContact.days + case((new_day, 1), else_=0),
              "last_day": statement.excluded.last_day}))


def _months(first: dt.date, last: dt.date) -> list[str]:
    found, year, month = [], first.year, first.month
    while (year, month) <= (last.year, last.month):
        found.append(f"{year:04d}-{month:02d}")
        year, month = (year, month + 1) if month < 12 else (year + 1, 1)
    return found
