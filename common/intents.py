"""The intent contract: every intent the model knows and content must answer."""

CONTRACT_INTENTS = (
    "greet", "goodbye", "thank", "affirm", "deny", "ask_menu", "bot_challenge",
    "out_of_scope", "danger_now", "self_harm", "report_workplace_harassment",
    "report_domestic_violence", "report_sexual_violence", "report_online_abuse",
    "ask_is_it_abuse", "ask_legal_rights", "ask_report_procedure", "ask_hotline",
    "ask_safety_plan", "ask_evidence", "request_counselor", "help_someone_else",
    "ask_confidentiality", "delete_my_data", "start_quiz", "selfcheck_start",
    "feeling_distress",
    # follow-ups, answered by the conversation's topic (content/answers.yml)
    "ask_what_to_do", "ask_penalty", "ask_what_to_say", "manager_handling_complaint",
)
CRISIS_INTENTS = frozenset({"danger_now", "self_harm"})
# Someone telling of harm happening to them or to another person: never a harmless
# reading that could overrule an uncertain crisis phrase (bot/core.py).
DISCLOSURE_INTENTS = frozenset({
    "report_workplace_harassment", "report_domestic_violence", "report_sexual_violence",
    "report_online_abuse", "help_someone_else", "feeling_distress", "request_counselor",
    "manager_handling_complaint",
})
# Someone asking what to do, how to stay safe, whom to call or how to report: the words
# of a person in trouble, so no harmless reading of a danger word either. "lam sao de
# treo co ma khong bi dau" (how to hang oneself without pain) reads as a safety-plan
# question, and that must not silence the net.
HELP_SEEKING_INTENTS = frozenset({
    "ask_what_to_do", "ask_safety_plan", "ask_hotline", "ask_report_procedure",
    "ask_evidence",
})
# Readings that never overrule an uncertain crisis phrase (bot/core.py).
NEVER_CALM_INTENTS = CRISIS_INTENTS | DISCLOSURE_INTENTS | HELP_SEEKING_INTENTS
