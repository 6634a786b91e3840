from bot.pseudonym import pseudonymise


def test_pseudonym_is_stable_for_the_same_person():
    assert pseudonymise("k", "telegram", "123") == pseudonymise("k", "telegram", "123")


def test_pseudonym_depends_on_key_and_channel():
    base = pseudonymise("k", "telegram", "123")
    assert base != pseudonymise("other", "telegram", "123")
    assert base != pseudonymise("k", "zalo", "123")


def test_pseudonym_does_not_contain_the_platform_id():
    value = pseudonymise("k", "telegram", "987654321")
    assert "987654321" not in value
    assert value.startswith("p1_") and len(value) == 3 + 64
