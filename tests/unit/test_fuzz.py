"""Property and fuzz tests (Hypothesis): whatever arrives from a messenger or an editor, the
service answers or refuses cleanly, never crashes, and the normaliser keeps its promises."""

from __future__ import annotations

import asyncio
import copy
import json
import shutil
import time

import httpx
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.core import ConversationCore, IncomingMessage
from bot.handlers.telegram_webhook import PATH, SECRET_HEADER, webhook_app
from bot.handlers.zalo import ZaloChannel, ZaloSettings, signature
from bot.safety import SafetyNet
from bot.storage import Database
from bot.storage.seen import SeenEvents
from common.content import ContentError, ContentStore, load_content
from common.textnorm import clean, fold, load_lexicon, nlu_form, strip_accents
from tests.fakes.rasa import ScriptedRasa
from tests.fakes.telegram_api import TelegramStandIn
from tests.helpers import ROOT, serving, telegram_application

LEXICON = load_lexicon(ROOT / "nlu" / "lexicon" / "abbreviations.yml")
CONTENT = ContentStore(ROOT / "content")
SAFETY = SafetyNet(CONTENT, LEXICON)
FUZZ = settings(max_examples=150, deadline=None, database=None, derandomize=True,
                suppress_health_check=list(HealthCheck))

# Text as users type it: Vietnamese letters with and without marks, teencode, emoji,
# control and zero-width characters, and anything else Unicode has.
LETTERS = "aăâđeêioôơuưyáàảãạấầẩẫậắằẳẵặéèẻẽẹếềểễệíìỉĩịóòỏõọốồổỗộớờởỡợúùủũụứừửữựýỳỷỹỵ ĐÂ"
VIETNAMESE = st.sampled_from([*LETTERS, "ko ", "dc ", "ck ", "e ", "😢", "\u200b", "\u0301",
                              "\x00", "\n", "\u202e"])
TEXT = st.one_of(st.text(max_size=300), st.lists(VIETNAMESE, max_size=80).map("".join))
JSON_VALUE = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner,
                                                                max_size=4),
    max_leaves=20)


@FUZZ
@given(TEXT)
def test_the_normaliser_never_fails_and_folding_removes_every_mark(text):
    assert isinstance(clean(text), str)
    folded = fold(text, LEXICON)
    assert strip_accents(folded) == folded
    assert fold(folded, LEXICON) == fold(fold(folded, LEXICON), LEXICON)
    assert isinstance(nlu_form(text, LEXICON), str)


@FUZZ
@given(TEXT)
def test_the_safety_net_judges_any_text_without_failing(text):
    SAFETY.assess(text)


@pytest.fixture(scope="module")
def core(tmp_path_factory) -> ConversationCore:
    database = Database(f"sqlite:///{tmp_path_factory.mktemp('db') / 'fuzz.db'}")
    database.migrate()
    return ConversationCore(ScriptedRasa(), CONTENT, SAFETY, database, "fuzz-key")


def test_every_message_gets_an_answer_whatever_it_holds(core):
    @FUZZ
    @given(TEXT)
    def one(text):
        result = asyncio.run(core.handle(IncomingMessage("telegram", "42", text)))
        assert result.replies and all(r.text for r in result.replies)
    one()


def test_the_telegram_webhook_answers_any_body_with_200_or_400(tmp_path):
    """Bodies of any shape, signed with the right secret, through the real webhook app."""
    async def scenario(bodies: list[bytes]) -> list[int]:
        with TelegramStandIn() as standin:
            application = telegram_application(standin)
            with serving(webhook_app(application, "s3cret")) as base:
                async with httpx.AsyncClient() as client:
                    statuses = [(await client.post(f"{base}{PATH}", content=body,
                                                   headers={SECRET_HEADER: "s3cret"})
                                 ).status_code for body in bodies]
            return statuses

    bodies: list[bytes] = []

    @FUZZ
    @given(st.one_of(JSON_VALUE.map(lambda v: json.dumps(v).encode()),
                     st.builds(lambda uid, text, chat: json.dumps({
                         "update_id": uid, "message": {
                             "message_id": 1, "date": 0, "text": text,
                             "chat": {"id": chat, "type": "private"},
                             "from": {"id": chat, "is_bot": False, "first_name": "A"}}}).encode(),
                               st.integers(), TEXT, st.integers(1, 2**40)),
                     st.binary(max_size=200)))
    def collect(body):
        bodies.append(body)
    collect()
    assert set(asyncio.run(scenario(bodies))) <= {200, 400}


def test_zalo_events_of_any_shape_are_answered_or_ignored_never_a_crash(core, tmp_path):
    zalo = ZaloSettings("app", "oa-secret", "app-secret", "access", "refresh")
    database = Database(f"sqlite:///{tmp_path / 'zalo.db'}")
    database.migrate()
    import datetime as dt
    channel = ZaloChannel(core, zalo, tmp_path, SeenEvents(database, dt.timedelta(minutes=10)))
    sent: list[str] = []

    async def send_text(user_id: str, text: str) -> None:
        sent.append(text)
    channel.client.send_text = send_text

    event = st.fixed_dictionaries({
        "event_name": st.sampled_from(["user_send_text", "user_send_image", "follow", "x"])
        | TEXT,
        "sender": st.fixed_dictionaries({"id": st.text(min_size=1, max_size=12)}) | JSON_VALUE,
        "message": st.fixed_dictionaries({"msg_id": st.text(min_size=1, max_size=12),
                                          "text": TEXT}) | JSON_VALUE,
        "timestamp": st.just(str(int(time.time() * 1000))) | JSON_VALUE,
    }) | JSON_VALUE

    @FUZZ
    @given(event)
    def one(doc):
        body = json.dumps(doc).encode()
        stamp = str(doc.get("timestamp")) if isinstance(doc, dict) else ""
        verified = channel.verify(body, "mac=" + signature("app", body, stamp, "oa-secret"))
        if verified is not None:
            asyncio.run(channel.handle_event(verified))
    one()


def _paths(node, trail=()):
    yield trail
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*trail, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, (*trail, index))


def _replace(node, trail, value):
    if not trail:
        return value
    node[trail[0]] = _replace(node[trail[0]], trail[1:], value)
    return node


def test_a_broken_content_edit_is_refused_with_content_errors_only(tmp_path):
    """Any value anywhere in any content file replaced by anything: the loader accepts it
    or lists what is wrong (ContentError), never crashes with another error."""
    files = sorted(p.name for p in (ROOT / "content").glob("*.yml"))
    trees = {name: yaml.safe_load((ROOT / "content" / name).read_text()) for name in files}
    work = tmp_path / "content"
    shutil.copytree(ROOT / "content", work)

    @settings(max_examples=120, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(st.sampled_from(files), st.integers(0, 10**6), JSON_VALUE)
    def one(name, pick, value):
        paths = list(_paths(trees[name]))
        trail = paths[pick % len(paths)]
        broken = _replace(copy.deepcopy(trees[name]), trail, value)
        (work / name).write_text(yaml.safe_dump(broken, allow_unicode=True))
        try:
            load_content(work)
        except ContentError as error:
            assert error.problems
        finally:
            shutil.copy(ROOT / "content" / name, work / name)
    one()


def test_a_yaml_syntax_error_is_one_content_error(tmp_path):
    work = tmp_path / "content"
    shutil.copytree(ROOT / "content", work)
    (work / "contacts.yml").write_text("contacts:\n  - id: [unclosed\n")
    with pytest.raises(ContentError) as refused:
        load_content(work)
    assert len(refused.value.problems) == 1


