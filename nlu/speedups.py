"""Work Rasa 3.6 repeats on every turn for no gain, done once instead.

Rasa validates each answer from the action server with ``jsonschema.validate``, which first
checks the response *schema itself* against the JSON Schema metaschema, every call. Profiled
over 300 turns (bench/profile_turn.py) this was over half of a turn's CPU time. The answer is
still validated against the same schema, by a validator built once.

Imported by nlu/channel.py, which Rasa loads at start-up. It runs inside Rasa (Python 3.10);
it must not import ``bot``.
"""

from __future__ import annotations

from typing import Any, Dict

from jsonschema import ValidationError
from jsonschema.validators import validator_for
from rasa.core.actions.action import RemoteAction
from rasa.shared.constants import DOCS_BASE_URL

_validator = None


def _validate_action_result(self: RemoteAction, result: Dict[str, Any]) -> bool:
    global _validator
    if _validator is None:
        schema = self.action_response_format_spec()
        _validator = validator_for(schema)(schema)
    try:
        _validator.validate(result)
        return True
    except ValidationError as error:
        error.message += (". Failed to validate Action server response from API, make sure "
                          "your response from the Action endpoint is valid. For more "
                          f"information about the format visit {DOCS_BASE_URL}/custom-actions")
        raise


RemoteAction._validate_action_result = _validate_action_result
