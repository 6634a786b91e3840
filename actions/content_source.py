"""The one content store the action server reads; it hot-reloads on edits."""

from __future__ import annotations

import os
from pathlib import Path

from common.content import ContentStore

_ROOT = Path(__file__).resolve().parent.parent

store = ContentStore(Path(os.environ.get("ANTAM_CONTENT_DIR") or _ROOT / "content"))
