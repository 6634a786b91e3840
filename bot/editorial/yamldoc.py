"""One entry of a content file, read and rewritten with the rest of the file untouched:
comments, key order, quoting and line breaks stay as the editor left them (ruamel's
round trip, which reproduces every content file byte for byte when nothing changes)."""

from __future__ import annotations

import io
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError


class DocumentError(ValueError):
    """The file is not YAML with the expected list of entries."""


def _yaml() -> YAML:
    y = YAML(typ="rt")
    y.preserve_quotes = True
    y.width = 4096  # never re-wrap an editor's long lines
    y.indent(mapping=2, sequence=4, offset=2)
    return y


def load(text: str) -> Any:
    try:
        return _yaml().load(text)
    except YAMLError as error:
        raise DocumentError(str(error).splitlines()[0] if str(error) else "YAML") from None


def dump(doc: Any) -> str:
    out = io.StringIO()
    _yaml().dump(doc, out)
    return out.getvalue()


def entries(text: str, key: str) -> CommentedSeq:
    doc = load(text)
    items = doc.get(key) if isinstance(doc, dict) else None
    if not isinstance(items, list):
        raise DocumentError(f"'{key}' is not a list")
    return items


def entry(text: str, key: str, entry_id: str) -> dict | None:
    return next((item for item in entries(text, key)
                 if isinstance(item, dict) and item.get("id") == entry_id), None)


def with_entry(text: str, key: str, entry_id: str | None, values: dict[str, Any]) -> str:
    """The file with entry ``entry_id`` set to ``values`` (None values removed), or with a
    new entry appended when ``entry_id`` is None. Unchanged fields keep their formatting."""
    doc = load(text)
    items = doc.get(key) if isinstance(doc, dict) else None
    if not isinstance(items, list):
        raise DocumentError(f"'{key}' is not a list")
    target = next((item for item in items
                   if isinstance(item, dict) and item.get("id") == entry_id), None)
    if entry_id is not None and target is None:
        raise DocumentError(f"no entry '{entry_id}'")
    if target is None:
        target = CommentedMap()
        items.append(target)
    for name, value in values.items():
        if value is None:
            target.pop(name, None)
        elif not _same(target.get(name), value):
            target[name] = _keep_style(target.get(name), value)
    return dump(doc)


def without_entry(text: str, key: str, entry_id: str) -> str:
    doc = load(text)
    items = doc[key]
    for index, item in enumerate(items):
        if isinstance(item, dict) and item.get("id") == entry_id:
            del items[index]
            return dump(doc)
    raise DocumentError(f"no entry '{entry_id}'")


def _same(old: Any, new: Any) -> bool:
    if isinstance(old, list) and isinstance(new, list):
        return len(old) == len(new) and all(_same(a, b) for a, b in zip(old, new, strict=True))
    if isinstance(old, dict) and isinstance(new, dict):
        return old.keys() == new.keys() and all(_same(old[k], new[k]) for k in old)
    return type(old) is type(new) and old == new if isinstance(old, bool) else old == new


def _keep_style(old: Any, new: Any) -> Any:
    """A list written in flow style ([a, b]) stays so; a folded text stays folded."""
    if isinstance(old, CommentedSeq) and isinstance(new, list):
        seq = CommentedSeq(new)
        if old.fa.flow_style():
            seq.fa.set_flow_style()
        return seq
    if isinstance(new, str) and type(old) is not str and isinstance(old, str) and "\n" not in new:
        try:
            return type(old)(new)  # FoldedScalarString, DoubleQuotedScalarString…
        except TypeError:
            return new
    if isinstance(new, str) and "\n" in new:
        from ruamel.yaml.scalarstring import LiteralScalarString
        return LiteralScalarString(new)
    return new
