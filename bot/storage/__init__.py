"""Persistence through SQLAlchemy 2, schema managed by Alembic.

Stores the minimum: pseudonyms with the day they were first and last seen,
and anonymous per-turn statistics for the programme's indicators. No message
text, name or platform id is ever stored.
"""

from bot.storage.database import Database
from bot.storage.exit_log import ExitLog
from bot.storage.models import ExitMessage, Participant, TurnStat

__all__ = ["Database", "ExitLog", "ExitMessage", "Participant", "TurnStat"]
