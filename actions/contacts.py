"""Support contacts from content/contacts.yml."""

from actions.base import ContentAction


class ActionShowHotlines(ContentAction):
    action_name = "action_show_hotlines"
    message_key = "hotlines"
