"""Write a show back to TOML (after edits made on air), in the same schema it was read with.

A show that came from a file is saved as that file edited, not rewritten: the operator's
comments, key order, spacing and named presets (``skin_tone = "light"``) stay exactly as
written, and only the values that differ between the file as it reads now and the show as
it is now change (tomlkit keeps the rest of the text byte for byte).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import tomli_w
import tomlkit
from tomlkit.container import Container
from tomlkit.items import AoT, Table

from studio.show.model import Show

_LOG = logging.getLogger("studio.show")


def show_data(show: Show) -> dict[str, Any]:
    """The show as plain TOML-able data, without empty optional sections."""
    data = show.model_dump(mode="json", exclude_none=True)
    for product in data["products"]:
        if not product.get("selling_points"):
            product.pop("selling_points", None)
    if not data.get("pronunciations"):
        data.pop("pronunciations", None)
    return data


def show_to_toml(show: Show) -> str:
    """The whole show, freshly laid out (a show with no file of its own)."""
    return tomli_w.dumps(show_data(show), multiline_strings=True)


def edit_toml(original_text: str, original: Show, show: Show) -> str:
    """``original_text`` (which reads as ``original``) changed only where ``show`` differs."""
    doc = tomlkit.parse(original_text)
    _merge(doc, show_data(original), show_data(show))
    return tomlkit.dumps(doc)


def _value(value: Any) -> Any:
    """A new value as tomlkit writes it: scripts with line breaks stay multi-line strings."""
    if isinstance(value, str) and "\n" in value:
        return tomlkit.string(value, multiline=True)
    if isinstance(value, Mapping):
        table = tomlkit.table()
        for key, item in value.items():
            table[key] = _value(item)
        return table
    return value


Doc = Container | Table


def _merge(doc: Doc, old: Mapping[str, Any], new: Mapping[str, Any]) -> None:
    for key, value in new.items():
        if key in old and old[key] == value:
            continue  # unchanged: the file's own spelling stays (a preset name, a comment)
        if key == "products" and isinstance(value, list):
            _merge_products(doc, old.get("products", []), value)
        elif isinstance(value, Mapping) and isinstance(old.get(key), Mapping):
            if key not in doc:
                doc[key] = tomlkit.table()
            child = doc[key]
            if isinstance(child, (Container, Table)):
                _merge(child, old[key], value)
            else:  # an inline table: small enough to write again
                doc[key] = _value(value)
        else:
            doc[key] = _value(value)
    for key in old:
        if key not in new and key in doc:
            del doc[key]


def _merge_products(doc: Doc, old: Sequence[Mapping[str, Any]],
                    new: Sequence[Mapping[str, Any]]) -> None:
    """Products are matched by id: an edited one changes in place, a new one is appended, a
    reordered run-down reorders the tables (each keeps its own comments)."""
    tables = doc.get("products")
    if not isinstance(tables, AoT):
        doc["products"] = [_value(p) for p in new]
        return
    by_id: dict[str, Table] = {str(t.get("id")): t for t in tables}
    old_by_id = {str(p["id"]): p for p in old}
    for product in new:
        pid = str(product["id"])
        table = by_id.get(pid)
        if table is not None and pid in old_by_id:
            _merge(table, old_by_id[pid], product)
    order = [str(p["id"]) for p in new]
    if order == [str(t.get("id")) for t in tables]:
        return
    rebuilt = tomlkit.aot()
    for product in new:
        table = by_id.get(str(product["id"]))
        rebuilt.append(table if table is not None else _value(product))
    doc["products"] = rebuilt


def show_text(show: Show, original: Path | None) -> str:
    """The text to save: ``original`` edited where the show changed, or a fresh file."""
    if original is not None and original.is_file():
        from studio.show.loader import parse_show

        try:
            text = original.read_text(encoding="utf-8")
            return edit_toml(text, parse_show(text, original), show)
        except Exception as exc:  # unreadable or no longer valid: save the show whole
            _LOG.warning("%s cannot be edited in place (%s); writing the show afresh",
                         original, exc)
    return show_to_toml(show)


def write_show(show: Show, path: Path, *, original: Path | None = None) -> None:
    """Atomic: a crash while saving never leaves a half-written show file.

    ``original`` is the file the show was opened from (default: ``path`` itself): its text
    is kept, changed only where the show was edited."""
    text = show_text(show, original if original is not None else path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
