"""The intent contract: every intent the model knows and content must answer."""

CONTRACT_INTENTS = (
    "greet", "goodbye", "thank", "affirm", "deny", "ask_menu", "bot_challenge",
    "out_of_scope", "danger_now", "self_harm", "report_workplace_harassment",
    "report_domestic_violence", "report_sexual_violence", "report_online_abuse",
    "ask_is_it_abuse", "ask_legal_rights", "ask_report_procedure", "ask_hotline",
    "ask_safety_plan", "ask_evidence", "request_counselor", "help_someone_else",
    "ask_confidentiality", "delete_my_data", "start_quiz", "feeling_distress",
)
CRISIS_INTENTS = frozenset({"danger_now", "self_harm"})
