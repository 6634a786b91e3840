import pytest

from bot.safety import EMBEDDED_EMERGENCY, SafetyNet
from common.content import ContentStore
from common.textnorm import load_lexicon
from tests.helpers import ROOT

LEXICON = load_lexicon(ROOT / "nlu" / "lexicon" / "abbreviations.yml")


@pytest.fixture
def safety():
    return SafetyNet(ContentStore(ROOT / "content"), LEXICON)


@pytest.mark.parametrize("text", [
    "Tôi đang bị đánh",
    "toi dang bi danh",
    "ck dang danh e",
    "CỨU TÔI VỚI!!!",
    "anh ta dọa giết tôi",
    "em bj nhot trong phong",
])
def test_danger_is_caught_with_and_without_diacritics(safety, text):
    assert safety.assess(text) == "danger_now"


@pytest.mark.parametrize("text", ["tôi muốn chết", "toi ko muon song nua", "nghĩ đến tự tử"])
def test_self_harm_is_caught(safety, text):
    assert safety.assess(text) == "self_harm"


@pytest.mark.parametrize("text", [
    "xin chào", "số điện thoại hỗ trợ", "đánh máy giỏi", "",
    "tôi bị đánh giá thấp trong kỳ xét thi đua", "mấy giờ thì đánh thức mình",
    "chơi game giết thời gian", "cam on ban nhieu", "/start_quiz",
])
def test_ordinary_messages_do_not_trigger(safety, text):
    assert safety.assess(text) is None


def test_emergency_reply_comes_from_content(safety):
    reply = safety.emergency_reply("danger_now")
    assert "113" in reply.text and reply.buttons


def test_self_harm_reply_offers_a_counselor_now(safety):
    reply = safety.emergency_reply("self_harm")
    assert "115" in reply.text
    assert "/request_counselor" in [b.payload for b in reply.buttons]


def test_unreadable_content_falls_back_to_embedded_numbers(tmp_path):
    net = SafetyNet(ContentStore(tmp_path / "missing"), LEXICON)
    assert net.assess("toi bi danh") == "danger_now"
    assert net.emergency_reply("danger_now") == EMBEDDED_EMERGENCY
    assert "113" in EMBEDDED_EMERGENCY.text
