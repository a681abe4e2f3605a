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


def product_lines(product: Product) -> list[ScriptLine]:
    lines: list[ScriptLine] = []
    number = 0
    for p_index, paragraph in enumerate(split_paragraphs(product.script)):
        for sentence in split_sentences(paragraph):
            lines.append(ScriptLine(LineKind.SCRIPT, product.id, p_index, number, sentence))
            number += 1
    return lines


def _free_lines(kind: LineKind, text: str) -> list[ScriptLine]:
    lines: list[ScriptLine] = []
    number = 0
    for p_index, paragraph in enumerate(split_paragraphs(text)):
        for sentence in split_sentences(paragraph):
            lines.append(ScriptLine(kind, None, p_index, number, sentence))
            number += 1
    return lines


def plan_show(show: Show) -> list[ScriptLine]:
    """Intro, then each product's script sentence by sentence, then the outro."""
    lines = _free_lines(LineKind.INTRO, show.show.intro)
    for product in show.products:
        lines += product_lines(product)
    lines += _free_lines(LineKind.OUTRO, show.show.outro)
    return lines
