"""Write a show back to TOML (after edits made on air), in the same schema it was read with."""

from __future__ import annotations

import os
from pathlib import Path

import tomli_w

from studio.show.model import Show


def show_to_toml(show: Show) -> str:
    data = show.model_dump(mode="json", exclude_none=True)
    for product in data["products"]:
        if not product.get("selling_points"):
            product.pop("selling_points", None)
    if not data.get("pronunciations"):
        data.pop("pronunciations", None)
    return tomli_w.dumps(data, multiline_strings=True)


def write_show(show: Show, path: Path) -> None:
    """Atomic: a crash while saving never leaves a half-written show file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(show_to_toml(show), encoding="utf-8")
    os.replace(tmp, path)
