"""The editors' routes over HTTP, with staff enrolled and logged in as in production:
roles are enforced both ways, refusals carry what the editor needs, nothing is written."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.editorial.api import Editorial, editorial_handlers
from bot.editorial.desk import EditorialDesk
from bot.editorial.preview import Previewer
from bot.escalation.events import Event
from bot.rasa_client import RasaClient
from bot.storage import Database
from common.lexicon import LexiconFile
from tests.helpers import free_port
from tests.unit.test_escalation_api import World, make_world


@pytest.fixture
def world(tmp_path, monkeypatch, capsys, content, lexicon) -> Iterator[World]:
    """The editors' routes; the preview's Rasa is down (nothing listens on its port), as
    when Rasa fails: the core then answers from the crisis net and the degraded reply."""
    database = Database(f"sqlite:///{tmp_path / 'editorial.db'}")
    database.migrate()
    desk = EditorialDesk(database, content, dt.datetime.utcnow, lexicon=lexicon)
    rasa_down = RasaClient(f"http://127.0.0.1:{free_port()}", "secret", timeout=2)
    previewer = Previewer(content, tmp_path / "preview", rasa_down, LexiconFile(lexicon).get)
    yield from make_world(tmp_path, monkeypatch, capsys, routes=lambda hub: editorial_handlers(
        hub, Editorial(desk, previewer)))


def _form(world: World, token: str, entry: str, **changes) -> dict:
    opened = world.http("GET", f"/content/files/contacts.yml/entries/{entry}", token).json()
    return {"file": "contacts.yml", "entry": entry, "values": opened["values"] | changes,
            "base_sha": opened["sha"], "reason": "cập nhật"}


def test_content_and_cases_are_for_different_people(world: World):
    editor = world.counselor("hoa", role="editor").token
    counselor = world.counselor("thu").token
    assert world.http("GET", "/content/files", editor).status_code == 200
    assert world.http("GET", "/content/files", counselor).status_code == 403
    assert world.http("GET", "/cases", editor).status_code == 403  # no queue, no case
    assert world.http("POST", "/content/retrain", editor).status_code == 403  # reviewers only
    queue_news = Event("queue", "AT-ABCDE", "queued")
    assert not queue_news.concerns("s1", "editor") and not queue_news.concerns("s1", "reviewer")
    assert queue_news.concerns("s1", "counselor")


def test_a_refused_change_says_where_and_writes_nothing(world: World, content: Path):
    editor = world.counselor("hoa", role="editor").token
    before = (content / "contacts.yml").read_text()
    response = world.http("POST", "/content/changes", editor,
                          json=_form(world, editor, "police", number="11x"))
    assert response.status_code == 422
    problems = response.json()["problems"]
    assert (problems[0]["entry"], problems[0]["field"]) == ("police", "number")
    # The dozens of texts that show 113 give one message, not one each.
    [cascade] = problems[1:]
    assert re.fullmatch(r"Số 113 không còn trong danh bạ đầu mối, mà đang được nhắc ở \d\d chỗ\.",
                        cascade["message"])
    checked = world.http("POST", "/content/check", editor,
                         json=_form(world, editor, "police", number="11x")).json()
    assert checked["problems"] == problems  # the same verdict while typing

    broken = world.http("GET", "/content/files/guides.yml/yaml", editor).json()
    response = world.http("POST", "/content/changes", editor, json={
        "file": "guides.yml", "text": broken["text"] + "\n  - id: [x\n",
        "base_sha": broken["sha"], "reason": "tải lên"})
    assert response.status_code == 422 and len(response.json()["problems"]) == 1
    assert world.http("GET", "/content/changes", editor).json()["changes"] == []
    assert (content / "contacts.yml").read_text() == before


def test_an_uploaded_file_goes_through_review(world: World, content: Path):
    editor = world.counselor("hoa", role="editor").token
    reviewer = world.counselor("lan", role="reviewer").token
    current = world.http("GET", "/content/files/guides.yml/yaml", editor).json()
    assert len(current["text"].encode()) > 64 * 1024  # larger than other API bodies
    edited = current["text"].replace("Khi bạn bị quấy rối ở nơi làm việc",
                                     "Khi bạn bị quấy rối tại nơi làm việc", 1)
    response = world.http("POST", "/content/changes", editor, json={
        "file": "guides.yml", "text": edited, "base_sha": current["sha"], "reason": "tải lên"})
    assert response.status_code == 201, response.text
    change = response.json()["id"]
    assert world.http("POST", f"/content/changes/{change}/approval", reviewer).status_code == 200
    assert (content / "guides.yml").read_text() == edited


def test_clashes_and_self_approval_are_refused(world: World, content: Path):
    hoa = world.counselor("hoa", role="editor").token
    minh = world.counselor("minh", role="editor").token
    lan = world.counselor("lan", role="reviewer").token
    first = world.http("POST", "/content/changes", lan,
                       json=_form(world, lan, "police", hours="24 giờ mỗi ngày"))
    assert first.status_code == 201
    second = world.http("POST", "/content/changes", hoa,
                        json=_form(world, hoa, "police", hours="cả ngày"))
    assert second.status_code == 409
    assert "+    hours: cả ngày" in second.json()["diff"]
    change = first.json()["id"]
    assert world.http("POST", f"/content/changes/{change}/approval", lan).status_code == 403
    assert world.http("POST", f"/content/changes/{change}/approval", minh).status_code == 403
    assert "24/7" in (content / "contacts.yml").read_text().split("id: ambulance")[0]


def test_the_preview_reads_a_proposed_lexicon_and_refuses_broken_content(world: World):
    editor = world.counselor("hoa", role="editor").token
    current = world.http("GET", "/content/files/abbreviations.yml/yaml", editor).json()
    proposed = current["text"].replace("abbreviations:\n", "abbreviations:\n  tsat: tự sát\n")
    for text, crisis in ((current["text"], False), (proposed, True)):
        opened = world.http("POST", "/content/preview", editor,
                            json={"file": "abbreviations.yml", "text": text})
        assert opened.status_code == 201
        turn = world.http("POST", f"/content/preview/{opened.json()['token']}/messages",
                          editor, json={"text": "em muon tsat"}).json()
        assert turn["crisis"] is crisis and turn["degraded"]
        if crisis:  # the emergency reply, as each channel shows it
            assert "113" in turn["telegram"][0]["text"] and "113" in turn["zalo"][0]
    broken = world.http("POST", "/content/preview", editor, json={
        "file": "abbreviations.yml", "text": "abbreviations: [x"})
    assert broken.status_code == 422


SEGMENT = "([^/]{1,100})"
FILES = ("contacts.yml", "guides.yml", "abbreviations.yml", "answers.yml", "nope.yml", "..",
         "%2e%2e%2fetc")


def test_generated_requests_to_the_editors_routes_never_get_a_5xx(world: World):
    """Hypothesis sends every editors' route bodies and path segments of every shape, as
    an editor and as a reviewer: whatever comes, the answer is a refusal or a result, never
    a server error."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from bot.editorial.api import ROUTES

    tokens = [world.counselor("hoa", role="editor").token,
              world.counselor("lan", role="reviewer").token]
    scalars = st.one_of(st.none(), st.booleans(), st.integers(-5, 10**12), st.text(max_size=40),
                        st.sampled_from(["police", "evidence", "24/7", "11x", "reviewed"]))
    values = st.recursive(scalars, lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)),
        max_leaves=6)
    fields = st.sampled_from(["file", "entry", "values", "text", "base_sha", "reason",
                              "publish", "what", "note", "hours", "number"])
    bodies = st.one_of(st.dictionaries(fields, values, max_size=6), values)
    segments = st.one_of(st.sampled_from(FILES + ("1", "police", "0", "x" * 100)),
                         st.text(alphabet="abc123_.-", min_size=1, max_size=12))
    failures = []

    def attempt(path: str, method: str):
        @settings(max_examples=8, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))
        @given(body=bodies, args=st.lists(segments, min_size=2, max_size=2),
               who=st.sampled_from(tokens),
               query=st.sampled_from(["", "?a=1&b=2", "?status=rejected", "?a=x"]))
        def exercise(body, args, who, query) -> None:
            url = path.replace(SEGMENT, args[0], 1).replace(SEGMENT, args[1], 1)
            response = world.http(method, url + query, who, json=body)
            assert response.status_code < 500, (method, url, body, response.text)
        return exercise

    for path, ops in ROUTES:
        for method in ops:
            try:
                attempt(path, method)()
            except AssertionError as failure:
                failures.append(str(failure)[:300])
    assert not failures, "\n".join(failures)
