"""The run-down: what the host says, in order, cut into sentences tied to products."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from studio.show.model import Product, Show
from studio.voice.text import split_paragraphs, split_sentences


class LineKind(StrEnum):
    INTRO = "intro"
    SCRIPT = "script"
    OUTRO = "outro"
    INTERJECTION = "interjection"


@dataclass(frozen=True, slots=True)
class ScriptLine:
    """One sentence to speak. ``product_id`` is the product on screen while it is said."""

    kind: LineKind
    product_id: str | None
    paragraph_index: int
    sentence_index: int
    text: str


def script_lines(kind: LineKind, product_id: str | None, text: str) -> list[ScriptLine]:
    """``text`` cut into paragraphs and sentences, numbered in order."""
    lines: list[ScriptLine] = []
    for p_index, paragraph in enumerate(split_paragraphs(text)):
        for sentence in split_sentences(paragraph):
            lines.append(ScriptLine(kind, product_id, p_index, len(lines), sentence))
    return lines


def product_lines(product: Product) -> list[ScriptLine]:
    return script_lines(LineKind.SCRIPT, product.id, product.script)


def plan_show(show: Show) -> list[ScriptLine]:
    """Intro, then each product's script sentence by sentence, then the outro."""
    lines = script_lines(LineKind.INTRO, None, show.show.intro)
    for product in show.products:
        lines += product_lines(product)
    lines += script_lines(LineKind.OUTRO, None, show.show.outro)
    return lines
