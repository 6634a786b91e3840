"""Entry matcher: which content entry answers this message, as Rasa's parse output.

Adds ``entry: {"ref": "legal:harassment_fines" | None, "confidence": 0.83}`` to
every parsed message. The action server answers with that entry when
content/answers.yml marks the intent ``specific`` (nlu/entries.py explains the
model). It learns from the example questions editors keep in content/, so the
training fingerprint covers them (bot/training.py) and `make train` picks up a
new entry's questions without code.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Any, Dict, List

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from common.content import load_content
from common.textnorm import load_lexicon
from nlu.components import persistence
from nlu.entries import NONE, EntryModel, entry_examples, entry_intents

log = logging.getLogger(__name__)
MODEL_FILE = "entry_matcher.skops"
ENTRY = "entry"


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True
)
class EntryMatcher(GraphComponent):
    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        return {"content": "content", "lexicon": "nlu/lexicon/abbreviations.yml",
                "method": "logreg", "threshold": 0.5, "C": 30.0}

    def __init__(self, config: Dict[str, Any], model_storage: ModelStorage,
                 resource: Resource, model: EntryModel | None = None) -> None:
        self.config = {**self.get_default_config(), **config}
        self._storage, self._resource = model_storage, resource
        self.model = model

    @classmethod
    def create(cls, config: Dict[str, Any], model_storage: ModelStorage,
               resource: Resource, execution_context: ExecutionContext) -> EntryMatcher:
        return cls(config, model_storage, resource)

    @classmethod
    def fingerprint_addon(cls, config: Dict[str, Any]) -> str | None:
        # Rasa's cache does not see the content questions this component reads.
        content = load_content(Path(config.get("content", "content")))
        lexicon = Path(config.get("lexicon", "nlu/lexicon/abbreviations.yml"))
        digest = hashlib.sha256(lexicon.read_bytes()).hexdigest()
        return f"{content.matcher_fingerprint()}-{digest}"

    def _new_model(self) -> EntryModel:
        return EntryModel(self.config["method"], self.config["threshold"], self.config["C"])

    def train(self, training_data: TrainingData) -> Resource:
        content = Path(self.config["content"])
        positives = entry_examples(content, load_lexicon(Path(self.config["lexicon"])))
        asking = entry_intents(content)
        # The training data reaching here is already normalised by the pipeline.
        negatives = [(NONE, e.get(TEXT)) for e in training_data.intent_examples
                     if e.get(TEXT) and e.get(INTENT) not in asking]
        if not positives:
            log.warning("no example questions in %s: entry matcher not trained", content)
            return self._resource
        self.model = self._new_model().fit(positives + negatives)
        self._persist()
        return self._resource

    def process(self, messages: List[Message]) -> List[Message]:
        if self.model is None:
            return messages
        texts = [m.get(TEXT) or "" for m in messages]
        for message, match in zip(messages, self.model.match(texts), strict=True):
            message.set(ENTRY, {"ref": match.ref, "confidence": match.confidence,
                                "ranking": [list(pair) for pair in match.ranking]},
                        add_to_output=True)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    def _persist(self) -> None:
        persistence.save(self._storage, self._resource, MODEL_FILE, self.model.__dict__)

    @classmethod
    def load(cls, config: Dict[str, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> EntryMatcher:
        state = persistence.load(model_storage, resource, MODEL_FILE)
        model = None
        if state is not None:
            model = EntryModel()
            model.__dict__.update(state)
            model.threshold = {**cls.get_default_config(), **config}["threshold"]
        return cls(config, model_storage, resource, model)
