import pytest

from bot.safety import EMBEDDED_EMERGENCY, SafetyNet, Signal
from common.content import ContentStore
from common.textnorm import load_lexicon
from tests.helpers import ROOT

LEXICON = load_lexicon(ROOT / "nlu" / "lexicon" / "abbreviations.yml")


@pytest.fixture
def safety():
    return SafetyNet(ContentStore(ROOT / "content"), LEXICON)


def kind(net: SafetyNet, text: str) -> str | None:
    signal = net.assess(text)
    return signal.kind if signal else None


@pytest.mark.parametrize("text", [
    "Tôi đang bị đánh",
    "toi dang bi danh",
    "ck dang danh e",
    "CỨU TÔI VỚI!!!",
    "anh ta dọa giết tôi",
    "em bj nhot trong phong",
])
def test_danger_is_caught_with_and_without_diacritics(safety, text):
    assert kind(safety, text) == "danger_now"


@pytest.mark.parametrize("text", ["tôi muốn chết", "toi ko muon song nua", "nghĩ đến tự tử"])
def test_self_harm_is_caught(safety, text):
    assert kind(safety, text) == "self_harm"


@pytest.mark.parametrize("text, certain", [
    ("Chồng tôi đang bóp cổ tôi", True),       # typed as written
    ("chong toi dang bop co toi", False),      # bare letters: the model may overrule
    ("Chị ơi cứu em với", False),              # a phrase also said of jammed printers
    ("em muốn tự tử", True),
])
def test_a_match_is_certain_only_when_typed_as_written_and_never_said_lightly(
        safety, text, certain):
    assert safety.assess(text).certain is certain


@pytest.mark.parametrize("text, kind_", [
    ("toi dinh tu sat vao cuoi tuan nay", "self_harm"),  # a wish or plan: no cabinet
    ("chong muon tu sat", "self_harm"),                  # "chồng", not "chống"
    ("e se tu ket lieu doi mk", "self_harm"),
    ("bo chau dang danh thang be bang that lung", "danger_now"),
    ("tks mn thời gian qua, vĩnh biệt", "self_harm"),    # a goodbye to life, with marks
    ("me con bi bo dam mot nhat vao tay", "danger_now"),  # stabbed: no cabinet, no rain
    ("con toi bi quang vao tuong", "danger_now"),
])
def test_an_unmistakable_phrase_is_certain_without_diacritics_too(safety, text, kind_):
    """The model, however sure it is of something harmless, cannot overrule these."""
    assert safety.assess(text).certain
    assert kind(safety, text) == kind_


@pytest.mark.parametrize("text", [
    "xin chào", "số điện thoại hỗ trợ", "đánh máy giỏi", "",
    "Phân tích đoạn trích Vĩnh biệt Cửu Trùng Đài", "Đội mình đánh thắng đội bạn 3-1",
    "tôi bị đánh giá thấp trong kỳ xét thi đua", "mấy giờ thì đánh thức mình",
    "chơi game giết thời gian", "cam on ban nhieu", "/start_quiz",
])
def test_ordinary_messages_do_not_trigger(safety, text):
    assert kind(safety, text) is None


@pytest.mark.parametrize("text, kind_", [
    ("cho hỏi liều gây chết của thuốc ngủ là bao nhiêu", "self_harm"),
    ("bao nhieu vien thi chet", "self_harm"),
    ("nó bảo tối nay làm thịt cả nhà em", "danger_now"),
    ("hẹn mọi người kiếp sau", "self_harm"),               # weighed by the model
    ("hắn nói em sẽ không bao giờ thấy mặt con nữa", "danger_now"),
    ("sếp bắt em ngủ với ổng mới ký hợp đồng", "danger_now"),
    ("chong em cam cay riu chay khap nha tim em", "danger_now"),
    ("dem nay t nhay tu ban cong xuong cho xong", "self_harm"),
    ("toi da cho het do, khong con gi vuong ban", "self_harm"),
    ("thuốc trừ sâu loại nào uống vào là chết", "self_harm"),
    ("họ bảo tối nay sẽ quay lại xử tiếp", "danger_now"),
])
def test_lethal_doses_butchering_threats_and_last_goodbyes_are_caught(safety, text, kind_):
    assert kind(safety, text) == kind_


@pytest.mark.parametrize("text", ["tết này nhà ngoại làm thịt con gà trống",
                                  "vitamin C uống mấy viên một ngày"])
def test_the_same_words_in_everyday_use_do_not_match(safety, text):
    assert kind(safety, text) is None


@pytest.mark.parametrize("text", [
    "em muốn tự vẫn", "nó định quyên sinh", "chỉ muốn tìm đến cái chết",
    "em đã viết thư tuyệt mệnh", "em uống cả vỉ thuốc ngủ rồi", "muốn nhảy lầu cho xong",
    "vinh biet moi nguoi", "e muon tu tan", "em uong qua lieu roi",
])
def test_formal_words_methods_and_goodbyes_are_self_harm(safety, text):
    assert kind(safety, text) == "self_harm"


@pytest.mark.parametrize("text", [
    "anh ta bóp cổ em", "ck siet co e", "nó khóa trái cửa nhốt em trong phòng",
    "chồng chĩa súng vào em", "nó dọa bắt cóc con em", "bo no doa giet con",
    "hắn tưới xăng quanh nhà", "bị giam lỏng mấy ngày nay",
    "sếp kéo tôi vào phòng kho rồi khóa lại", "a ta dí kéo vào cổ e",
    "chồng dọa bóp chết con", "nó cưỡng ép tôi quan hệ", "hắn theo em về tận nhà",
])
def test_strangling_confinement_weapons_and_threats_to_children_are_danger(safety, text):
    assert kind(safety, text) == "danger_now"


@pytest.mark.parametrize("text", [
    "bí danh của em trên mạng là Mây",     # a pen name, not "bị đánh"
    "em đang dành tiền mua nhà",           # saving money, not "đang đánh"
    "cứ bấm theo hướng dẫn là được",       # press as shown, not "bám theo"
    "tôi muốn được tư vấn",                # counselling, the letters of "tự vẫn"
    "toi muon duoc tu van",
    "từ từ rồi tính em ạ",                 # slowly, the letters of "tự tử"
    "mua thêm cái tủ sắt văn phòng",       # an iron cabinet, the letters of "tự sát"
    "mệt muốn chết vì họp cả ngày",
    "khâu xong thì cắt tay áo",
    "đơn vị sẽ xử lý em ạ",                # "xử em" inside "xử lý em"
    "quy trình bị thắt cổ chai",
    "xe đạp tôi hỏng phanh rồi",           # a bicycle, not "đạp tôi" (kicked me)
    "phòng máy cần thông gió cưỡng bức",   # forced ventilation
    "sếp không cho em ra về sớm",
])
def test_look_alikes_of_crisis_phrases_do_not_trigger(safety, text):
    assert kind(safety, text) is None


def test_emergency_reply_comes_from_content(safety):
    reply = safety.emergency_reply("danger_now")
    assert "113" in reply.text and reply.buttons


def test_self_harm_reply_offers_a_counselor_now(safety):
    reply = safety.emergency_reply("self_harm")
    assert "115" in reply.text
    assert "/request_counselor" in [b.payload for b in reply.buttons]


def test_unreadable_content_falls_back_to_embedded_numbers(tmp_path):
    net = SafetyNet(ContentStore(tmp_path / "missing"), LEXICON)
    assert net.assess("toi bi danh") == Signal("danger_now", certain=False)
    assert net.emergency_reply("danger_now") == EMBEDDED_EMERGENCY
    assert "113" in EMBEDDED_EMERGENCY.text


@pytest.mark.parametrize("text", [
    "Khung hình phạt cho tội hiếp dâm là bao nhiêu năm?",
    "Hành vi đánh đập vợ con bị xử phạt thế nào?",
    "Xúi giục người khác tự sát bị xử lý ra sao?",
    "Tỷ lệ tự tử ở thanh niên hiện nay là bao nhiêu?",
    "Cho tôi số liệu thống kê tự sát năm ngoái",
    "bạn có số liệu tự tử năm ngoái không",
    "em đang viết tiểu luận về tự tử ở người cao tuổi",
])
def test_an_act_named_in_a_question_about_the_law_is_left_to_the_model(safety, text):
    """Uncertain: a confident legal reading overrules it, a disclosure does not."""
    assert safety.assess(text).certain is False


def test_a_bare_phrase_word_in_a_bare_message_is_uncertain(safety):
    assert safety.assess("cac dia phuong vung dao dang thieu nuoc").certain is False
    assert safety.assess("Nó vung dao lên dọa tôi").certain is True


@pytest.mark.parametrize("text, kind_", [
    ("mẹ t dạo này cứ ns sống thừa", "self_harm"),                         # hopelessness
    ("cj ấy nhắn tạm biệt r tắt máy, e sợ cj ấy làm j dại", "self_harm"),  # a bystander's fear
    ("toi chi con cach chet thoi", "self_harm"),
    ("chắc e chết đi thì ck vs bme mới hiểu", "self_harm"),
    ("nhìn con dao là chỉ mún đâm vào ng mình", "self_harm"),
    ("bà giấu thuốc ngủ dưới gối", "self_harm"),
    ("từ khi mẹ mất bố cứ nói muốn đi theo mẹ", "self_harm"),          # to join the dead
    ("ba mat roi, con muon xuong do voi ba", "self_harm"),
    ("đây là lần cuối e nc vs ai đó", "self_harm"),
    ("tu hom do e nghi den cai chet suot", "self_harm"),
    ("tao đang đứng trước cơ quan mày, chờ mày tan ca", "danger_now"),   # found the office
    ("nó tìm ra nhà e r, gửi cả ảnh chụp cổng nhà", "danger_now"),
    ("chồng cũ nhắn chiều nay sẽ bắt con gái tôi ở trường", "danger_now"),
    ("hàng xóm ck đg đánh vk, kéo lê ra sân", "danger_now"),
    ("quản lý khóa em trong kho rồi về mất", "danger_now"),
    ("bé nhà bên bị bố trói vào cột đánh từ nãy h", "danger_now"),      # tied up
])
def test_euphemisms_hidden_means_and_abusers_at_the_door_are_caught(safety, text, kind_):
    assert kind(safety, text) == kind_


def test_thinking_about_suicide_is_not_named_away(safety):
    """Only a piece of work "about" the act names it; thinking about it is told."""
    assert safety.assess("tôi cứ nghĩ về tự tử suốt").certain is True


def test_a_denial_typed_as_written_is_not_a_bystanders_fear(safety):
    assert kind(safety, "tôi buồn nhưng không có ý định làm gì dại dột") is None
