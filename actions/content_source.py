"""The content the action server reads; it hot-reloads on edits.

A conversation from the workspace's preview (sender ``preview-<token>``) reads the
proposed content staged for it under ANTAM_PREVIEW_DIR/<token> instead: an editor sees
exactly what users would get, before anything goes live (bot/editorial/preview.py)."""

from __future__ import annotations

import os
import re
from collections import OrderedDict
from pathlib import Path
from typing import Any

from common.content import Content, ContentStore

_ROOT = Path(__file__).resolve().parent.parent
_PREVIEW = re.compile(r"^preview-([0-9a-f]{32})$")
_KEPT_PREVIEWS = 20

store = ContentStore(Path(os.environ.get("ANTAM_CONTENT_DIR") or _ROOT / "content"))
_preview_dir = Path(os.environ.get("ANTAM_PREVIEW_DIR") or _ROOT / "var" / "preview")
_previews: OrderedDict[str, ContentStore] = OrderedDict()


def content_for(tracker: Any) -> Content:
    """The live content, or a preview session's staged content."""
    match = _PREVIEW.match(getattr(tracker, "sender_id", "") or "")
    if match is None:
        return store.get()
    directory = _preview_dir / match.group(1)
    if not directory.is_dir():  # the session ended: answer from the live content
        _previews.pop(match.group(1), None)
        return store.get()
    preview = _previews.get(match.group(1))
    if preview is None:
        preview = _previews[match.group(1)] = ContentStore(directory, check_interval=0.0)
        while len(_previews) > _KEPT_PREVIEWS:
            _previews.popitem(last=False)
    _previews.move_to_end(match.group(1))
    return preview.get()
