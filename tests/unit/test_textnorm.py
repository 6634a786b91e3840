import unicodedata

from common.textnorm import clean, expand_abbreviations, fold, load_lexicon
from tests.helpers import ROOT

LEXICON = load_lexicon(ROOT / "nlu" / "lexicon" / "abbreviations.yml")


def test_fold_strips_diacritics_and_d_stroke():
    assert fold("Tôi bị ĐÁNH ở nhà") == "toi bi danh o nha"


def test_fold_treats_decomposed_and_composed_input_alike():
    decomposed = unicodedata.normalize("NFD", "chồng đánh tôi")
    assert fold(decomposed) == fold("chồng đánh tôi") == "chong danh toi"


def test_teencode_is_expanded_from_the_editable_lexicon():
    assert fold("ck dang danh e, ko dc ra ngoai", LEXICON) == (
        "chong dang danh em, khong duoc ra ngoai")


def test_only_whole_words_are_expanded():
    assert expand_abbreviations("kho khan", {"k": "khong"}) == "kho khan"


def test_clean_removes_control_and_invisible_characters():
    assert clean("xin\x00 chào\x1b[31m\u200b bạn\r\n") == "xin chào [31m bạn"


def test_emoji_and_other_scripts_survive_folding():
    assert fold("Cứu 🙏 help 救命") == "cuu 🙏 help 救命"


def test_lexicon_matches_short_forms_typed_with_or_without_diacritics():
    assert fold("sdt", LEXICON) == fold("sđt", LEXICON) == "so dien thoai"


def test_vietnamese_particles_are_not_taken_for_abbreviations():
    assert fold("đây là bot à, dạ vâng ạ", LEXICON) == "day la bot a, da vang a"
    assert fold("a ơi", LEXICON) == "anh oi"
