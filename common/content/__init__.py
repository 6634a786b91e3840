"""Editor-maintained content: model, loading with validation, hot reload, rendering.

See docs/content.md for the file formats.
"""

from common.content.loader import load_content
from common.content.model import (
    Button,
    Contact,
    Content,
    ContentError,
    Problem,
    Rendered,
)
from common.content.render import render, render_ref
from common.content.store import ContentStore

__all__ = [
    "Button", "Contact", "Content", "ContentError", "ContentStore", "Problem", "Rendered",
    "load_content", "render", "render_ref",
]
