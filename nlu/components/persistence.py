"""Saving our components' scikit-learn state in Rasa's model storage, with skops."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage

log = logging.getLogger(__name__)


def save(storage: ModelStorage, resource: Resource, name: str, state: Any) -> None:
    import skops.io as sio

    with storage.write_to(resource) as directory:
        sio.dump(state, directory / name)


def load(storage: ModelStorage, resource: Resource, name: str) -> Any | None:
    """The saved state, or None when this model has none (never trained)."""
    import skops.io as sio

    try:
        with storage.read_from(resource) as directory:
            path = directory / name
            # Our own training wrote this file; its types are sklearn's and numpy's.
            state = sio.load(path, trusted=sio.get_untrusted_types(file=path))
    except (ValueError, FileNotFoundError):
        log.warning("no trained state %s in this model", name)
        return None
    _column_major_weights(state)
    return state


def _column_major_weights(state: Any) -> None:
    """Predicting multiplies a sparse row by ``coef_.T``; scipy makes that operand contiguous
    with ``ravel()``, which copied the whole weight matrix on every message (half of an NLU
    parse, bench/profile_turn.py). Kept column-major, the transpose is already contiguous and
    nothing is copied; the numbers are the same."""
    for estimator in state.values() if isinstance(state, dict) else (state,):
        for _, step in getattr(estimator, "steps", [(None, estimator)]):
            weights = getattr(step, "coef_", None)
            if isinstance(weights, np.ndarray) and weights.ndim == 2:
                step.coef_ = np.asfortranarray(weights)
