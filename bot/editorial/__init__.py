"""Content editing in the workspace: editors propose, reviewers approve, the bot follows.

- ``forms``: the entry types of the content model as forms (fields, labels, kinds).
- ``yamldoc``: reading and rewriting one entry of a YAML file, comments kept.
- ``checks``: the content model's own validation of a proposed state, in Vietnamese.
- ``records``: the tables of proposed changes and published versions.
- ``desk``: propose, approve, publish atomically, history, diff, rollback, freshness.
- ``preview``: a conversation with proposed content through the real core and Rasa.
- ``retrain``: a model retrain when example questions change; the old model serves meanwhile.
- ``api``: the HTTP routes the workspace calls.
"""
