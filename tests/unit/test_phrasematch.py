"""Word-aware, diacritic-aware matching of crisis phrases, each with its look-alikes."""

import pytest

from common.phrasematch import Phrase, PhraseMatcher, typed_with_diacritics, word_matches, words_of


@pytest.mark.parametrize("typed, written, accented, expected", [
    ("đánh", "đánh", True, True),     # as written
    ("đánh", "đánh", False, True),
    ("danh", "đánh", False, None),    # bare letters in a bare message: may be it
    ("danh", "đánh", True, False),    # bare in an accented message: meant bare
    ("hai", "hại", True, False),      # "tự làm hai cái bánh": two, not harm
    ("dành", "đánh", False, False),   # saving (money): typed with other marks
    ("bí", "bị", False, False),       # "bí danh", a pen name
    ("bấm", "bám", True, False),      # "bấm theo hướng dẫn", press as shown
    ("danhs", "đánh", False, False),  # not the same word
    ("dao", "dao", True, True),       # a word without marks, in an accented message
    ("dao", "dao", False, None),      # ...in a bare one: "vung dao" may be "vùng đảo"
])
def test_a_typed_word_matches_the_phrase_word_it_can_stand_for(typed, written, accented,
                                                               expected):
    assert word_matches(typed, written, accented) is expected


@pytest.mark.parametrize("text, accented", [
    ("Cuối tuần tôi tự làm hai cái bánh", True),
    ("toi bi danh", False),
    ("ck dang danh e, cứu", False),   # one accented word in five: typed bare
    ("e bj đánh", True),              # abbreviations say nothing either way
    ("2024", False),
])
def test_a_message_is_read_as_typed_with_or_without_diacritics(text, accented):
    assert typed_with_diacritics(text, {"e": "em", "bj": "bị", "ck": "chồng"}) is accented


@pytest.fixture
def net() -> PhraseMatcher:
    return PhraseMatcher({
        "danger": (Phrase.of("bị đánh", harmless=["bí danh là"]), Phrase.of("đánh em"),
                   Phrase.of("cứu em", confirm=True)),
        "self_harm": (Phrase.of("tự vẫn", exact=True), Phrase.of("tự làm hại"),
                      Phrase.of("treo cổ", harmless=["treo cờ tổ quốc"])),
    }, harmless=(words_of("đánh giá"),), naming=(words_of("tội"), words_of("hành vi")))


def found(net: PhraseMatcher, text: str, lexicon=None) -> set[tuple[str, bool]]:
    return {(hit.kind, hit.certain) for hit in net.hits(text, lexicon)}


@pytest.mark.parametrize("text, hits", [
    ("Tôi đang bị đánh", {("danger", True)}),
    ("toi dang bi danh", {("danger", False)}),        # bare: the model may overrule
    ("nó định tự vẫn", {("self_harm", True)}),
    ("chồng em dọa treo cổ", {("self_harm", True)}),
    ("chong em doa treo co", {("self_harm", False)}),
    ("Tôi tự làm hại mình", {("self_harm", True)}),
    ("Cứu em với!", {("danger", False)}),             # also said of jammed printers
])
def test_phrases_are_found_certain_when_typed_as_written(net, text, hits):
    assert found(net, text) == hits


@pytest.mark.parametrize("text", [
    "hộp thư bịđánh dấu",             # inside another word
    "bí danh của tôi là Lan",         # a pen name, typed with diacritics
    "tôi cần tư vấn",                 # counselling, the letters of "tự vẫn"
    "toi can tu van",                 # exact: bare letters never match
    "Cuối tuần tôi tự làm hai cái bánh",
    "treo cờ tổ quốc ngày lễ",
    "bị đánh giá thấp",               # the global harmless list
    "Ván sau anh đánh, em ngồi xem",  # a comma ends the clause: no "đánh em"
])
def test_look_alikes_and_other_words_do_not_match(net, text):
    assert found(net, text) == set()


@pytest.mark.parametrize("text", ["bi danh la Hoa", "treo co to quoc ngay le",
                                  "bi danh gia thap"])
def test_a_look_alike_read_from_bare_letters_leaves_the_match_uncertain(net, text):
    assert {certain for _, certain in found(net, text)} == {False}


def test_a_look_alike_cancels_only_the_words_it_covers(net):
    assert found(net, "bí danh là Lan, hôm qua tôi bị đánh") == {("danger", True)}
    assert found(net, "đánh giá xong thì anh ta đánh em") == {("danger", True)}


def test_abbreviations_expand_before_matching(net):
    assert found(net, "e bj đánh", {"bj": "bị", "e": "em"}) == {("danger", True)}


def test_words_of_keeps_diacritics_and_drops_punctuation():
    assert words_of("  Cứu TÔI!!! ") == ("cứu", "tôi")


@pytest.mark.parametrize("text", [
    "Tội hiếp dâm bị phạt thế nào?",                 # the crime of rape, named
    "Hành vi đánh em gái bị xử phạt ra sao?",        # the act of beating, named
])
def test_a_phrase_after_a_naming_word_is_named_not_told(text):
    net = PhraseMatcher({"danger": (Phrase.of("hiếp dâm"), Phrase.of("đánh em"))},
                        naming=(words_of("tội"), words_of("hành vi")))
    assert found(net, text) == {("danger", False)}


def test_a_naming_word_elsewhere_in_the_message_changes_nothing():
    net = PhraseMatcher({"danger": (Phrase.of("hiếp dâm"),)}, naming=(words_of("tội"),))
    assert found(net, "Anh ta hiếp dâm tôi, tội lỗi gì chứ") == {("danger", True)}
    assert found(net, "Tội nghiệp em, anh ta hiếp dâm em tối qua") == {("danger", True)}


def test_a_bare_look_alike_holding_the_whole_match_still_leaves_it_uncertain():
    """A longer harmless phrase with the same letters does not settle a bare message:
    "đánh con cờ" (a chess move) holds "đánh con" (beating the child)."""
    net = PhraseMatcher({"danger": (Phrase.of("đánh con"),)},
                        harmless=(words_of("đánh con cờ"),))
    assert found(net, "bo no danh con co chay mau khong") == {("danger", False)}
    assert found(net, "Bố nó đánh con cờ này hay quá") == set()


def test_an_unmistakable_phrase_is_certain_from_bare_letters_too():
    """"dinh tu sat" reads only as "định tự sát": no model may overrule it, while a bare
    "tu sat" alone may still be "tủ sắt" (a steel cabinet) and stays uncertain."""
    net = PhraseMatcher({"self_harm": (Phrase.of("định tự sát", unmistakable=True),
                                       Phrase.of("tự sát"))})
    assert ("self_harm", True) in found(net, "toi dinh tu sat vao cuoi tuan")
    assert found(net, "mua tu sat cho phong") == {("self_harm", False)}


def test_an_unmistakable_phrase_under_a_bare_look_alike_is_uncertain():
    net = PhraseMatcher({"self_harm": (Phrase.of("muốn tự sát", unmistakable=True,
                                                 harmless=["muốn tự sát nhập"]),)})
    assert found(net, "hai xa muon tu sat nhap") == {("self_harm", False)}


def test_only_a_naming_word_typed_as_written_names_a_phrase():
    """Bare "chong" is "chống" (against) or "chồng" (husband): "chong muon tu sat" is a
    husband wanting to kill himself, not a campaign against suicide."""
    net = PhraseMatcher({"self_harm": (Phrase.of("muốn tự sát", unmistakable=True),)},
                        naming=(words_of("chống"),))
    assert found(net, "chong muon tu sat") == {("self_harm", True)}
