"""Vietnamese normaliser as a Rasa graph component, placed before the tokenizer.

Rewrites each message's text into two forms joined by a space: the lowercased
original (diacritics kept where typed) and the folded form (accents stripped,
đ→d, teencode expanded). Featurizers then see words that match whether or not
the user typed diacritics. Registered as MESSAGE_TOKENIZER because only
tokenizers and featurizers are chained in pipeline order.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Dict, List

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from common.textnorm import load_lexicon, nlu_form

DEFAULT_LEXICON = "nlu/lexicon/abbreviations.yml"


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER], is_trainable=False
)
class VietnameseNormalizer(GraphComponent):
    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        return {"lexicon": DEFAULT_LEXICON}

    def __init__(self, config: Dict[str, Any]) -> None:
        self._lexicon = load_lexicon(Path(config["lexicon"]))

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> VietnameseNormalizer:
        return cls(config)

    @classmethod
    def fingerprint_addon(cls, config: Dict[str, Any]) -> str | None:
        # Rasa's training cache does not see data files a component reads.
        return hashlib.sha256(Path(config["lexicon"]).read_bytes()).hexdigest()

    def _normalise(self, message: Message) -> None:
        text = message.get(TEXT)
        if isinstance(text, str) and text:
            message.set(TEXT, nlu_form(text, self._lexicon))

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            self._normalise(message)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        for message in training_data.training_examples:
            self._normalise(message)
        return training_data
