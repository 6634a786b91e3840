"""Small talk around the real work: greeting, goodbye, off-topic, rephrase."""

from actions.base import ContentAction


class ActionGreet(ContentAction):
    action_name = "action_greet"
    message_key = "greeting"


class ActionGoodbye(ContentAction):
    action_name = "action_goodbye"
    message_key = "goodbye"


class ActionOutOfScope(ContentAction):
    """An honest "I can only help with…" instead of a confident unrelated answer."""

    action_name = "action_out_of_scope"
    message_key = "out_of_scope"


class ActionAskRephrase(ContentAction):
    """Low NLU confidence: ask, do not guess."""

    action_name = "action_ask_rephrase"
    message_key = "fallback"
