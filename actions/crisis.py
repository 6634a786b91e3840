"""Danger now or self-harm: emergency contacts first.

The bot's safety net sends the same message even when Rasa misses the intent
or is down; this action covers what only the model recognises.
"""

from actions.base import ContentAction


class ActionCrisis(ContentAction):
    action_name = "action_crisis"
    message_key = "crisis"
