"""Shared unit-test fixtures."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from bot.storage import Database
from tests.helpers import ROOT

POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request, tmp_path):
    """An empty database, not yet migrated: SQLite (default) and the real PostgreSQL
    (production), each PostgreSQL test in a schema of its own."""
    if request.param == "sqlite":
        yield Database(f"sqlite:///{tmp_path / 'antam.db'}")
        return
    schema = f"antam_test_{uuid.uuid4().hex[:8]}"
    admin = create_engine(POSTGRES)
    with admin.begin() as connection:
        connection.execute(text(f'create schema "{schema}"'))
    db = Database(f"{POSTGRES}?options=-csearch_path%3D{schema}")
    yield db
    db.engine.dispose()
    with admin.begin() as connection:
        connection.execute(text(f'drop schema "{schema}" cascade'))
    admin.dispose()


@pytest.fixture
def content(tmp_path: Path) -> Path:
    """A copy of the real content/, free to edit."""
    directory = tmp_path / "content"
    shutil.copytree(ROOT / "content", directory)
    return directory


@pytest.fixture
def lexicon(tmp_path: Path) -> Path:
    """A copy of the real abbreviation lexicon, free to edit."""
    path = tmp_path / "abbreviations.yml"
    shutil.copyfile(ROOT / "nlu" / "lexicon" / "abbreviations.yml", path)
    return path
