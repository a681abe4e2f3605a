"""What is on air, live: the run-down queue, interjections, and where the host is in it.

Pure state, no threads, no clock: the live engine asks ``next_line`` at each sentence
boundary and applies the operator's commands between frames, so every change takes effect
at the next sentence boundary (or at once, when the engine cuts the current sentence).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field, replace

from studio.program.queue import ProductStatus, QueueEntry
from studio.program.rundown import LineKind, ScriptLine, product_lines, script_lines
from studio.show.model import Product, Show, format_price

SPOKEN_CHARS_PER_S = {"en": 14.0, "zh": 3.4}
"""Written characters a host says per second at rate 1.0, per language: English measured on
the demo show (Piper's joe), Mandarin on the Mandarin demo (Kokoro, 378 characters in 112 s
of speech): a Chinese character is a syllable."""


@dataclass
class _State:
    order: list[str]
    products: dict[str, Product]
    done: set[str] = field(default_factory=set)
    skipped: set[str] = field(default_factory=set)
    current_id: str | None = None
    current_lines: list[ScriptLine] = field(default_factory=list)
    next_sentence: int = 0
    intro: deque[ScriptLine] = field(default_factory=deque)
    outro: deque[ScriptLine] = field(default_factory=deque)
    interjections: deque[ScriptLine] = field(default_factory=deque)
    requested_next: str | None = None
    phase: str = "intro"  # intro, products, outro, ended

    def fork(self) -> _State:
        """A copy ``_advance`` may change freely: it mutates only the sets and queues (the
        products and the order it never touches), so those are shared, not deep-copied.
        Cheap enough to peek at every frame of a pause."""
        return replace(self, done=set(self.done), skipped=set(self.skipped),
                       intro=deque(self.intro), outro=deque(self.outro),
                       interjections=deque(self.interjections))


class LiveProgram:
    def __init__(self, show: Show) -> None:
        self._show = show
        rate = SPOKEN_CHARS_PER_S.get(show.show.language, SPOKEN_CHARS_PER_S["en"])
        self._chars_per_s = rate * show.host.speaking_rate
        self._s = _State(order=[p.id for p in show.products],
                         products={p.id: p for p in show.products},
                         intro=deque(script_lines(LineKind.INTRO, None, show.show.intro)),
                         outro=deque(script_lines(LineKind.OUTRO, None, show.show.outro)))
        self.pinned: str | None = None
        self._interjection_count = 0

    # --- reading -------------------------------------------------------------------------
    @property
    def current_product_id(self) -> str | None:
        return self._s.current_id

    @property
    def ended(self) -> bool:
        return self._s.phase == "ended"

    def product(self, product_id: str) -> Product:
        return self._s.products[product_id]

    def products_in_order(self) -> list[Product]:
        return [self._s.products[i] for i in self._s.order]

    def current_script(self) -> list[str]:
        return [line.text for line in self._s.current_lines]

    def _upcoming_product(self, s: _State) -> str | None:
        if s.requested_next is not None:
            return s.requested_next
        start = s.order.index(s.current_id) + 1 if s.current_id in s.order else 0
        for pid in s.order[start:] + s.order[:start]:
            if pid not in s.done and pid not in s.skipped and pid != s.current_id:
                return pid
        return None

    def entries(self) -> tuple[QueueEntry, ...]:
        s = self._s
        upcoming = self._upcoming_product(s) if s.phase in {"intro", "products"} else None
        if upcoming is None and self._show.show.loop:  # the next round starts at the top
            upcoming = next((pid for pid in s.order if pid not in s.skipped
                             and pid != s.current_id), None)
        out = []
        for pid in s.order:
            product = s.products[pid]
            if pid == s.current_id and s.phase == "products":
                status = ProductStatus.ON_AIR
            elif pid in s.skipped:
                status = ProductStatus.SKIPPED
            elif pid in s.done:
                status = ProductStatus.DONE
            elif pid == upcoming:
                status = ProductStatus.NEXT
            else:
                status = ProductStatus.QUEUED
            out.append(QueueEntry(pid, product.name, format_price(product.price, product.currency),
                                  status, pid == self.pinned))
        return tuple(out)

    def time_left_s(self) -> tuple[float, float]:
        """Estimated speaking time left for the current product and for the whole show."""
        s = self._s
        product_chars = sum(len(line.text) for line in s.current_lines[s.next_sentence:])
        rest = [pid for pid in s.order
                if pid not in s.done and pid not in s.skipped and pid != s.current_id]
        show_chars = (product_chars + sum(len(s.products[pid].script) for pid in rest)
                      + sum(len(line.text) for line in (*s.intro, *s.outro, *s.interjections)))
        return product_chars / self._chars_per_s, show_chars / self._chars_per_s

    # --- deciding what is said next -------------------------------------------------------
    def _advance(self, s: _State) -> ScriptLine | None:
        if s.interjections:
            return s.interjections.popleft()
        if s.phase == "intro":
            if s.intro:
                return s.intro.popleft()
            s.phase = "products"
        if s.phase == "products":
            if s.requested_next is not None:
                target = s.requested_next
                s.requested_next = None
                if s.current_id is not None:
                    s.done.add(s.current_id)
                self._enter(s, target)
            if s.current_id is None or s.next_sentence >= len(s.current_lines):
                if s.current_id is not None:
                    s.done.add(s.current_id)
                target_or_none = self._upcoming_product(s)
                if target_or_none is None and self._show.show.loop:
                    s.done.clear()  # round again, from the top of the run-down
                    s.current_id = None
                    target_or_none = self._upcoming_product(s)
                if target_or_none is None:
                    s.current_id = None
                    s.current_lines = []
                    s.phase = "outro"
                else:
                    self._enter(s, target_or_none)
            if s.phase == "products" and s.next_sentence < len(s.current_lines):
                line = s.current_lines[s.next_sentence]
                s.next_sentence += 1
                return line
        if s.phase == "outro":
            if s.outro:
                return s.outro.popleft()
            s.phase = "ended"
        return None

    def _enter(self, s: _State, product_id: str) -> None:
        s.current_id = product_id
        s.current_lines = product_lines(s.products[product_id])
        s.next_sentence = 0
        s.done.discard(product_id)
        s.skipped.discard(product_id)

    def peek_next_line(self) -> ScriptLine | None:
        """What ``next_line`` would return now (for synthesising ahead); changes nothing."""
        return self._advance(self._s.fork())

    def next_line(self) -> ScriptLine | None:
        return self._advance(self._s)

    # --- operator commands ----------------------------------------------------------------
    def interject(self, text: str, first: bool = False) -> ScriptLine:
        from studio.voice.text import split_sentences

        self._interjection_count += 1
        lines = [ScriptLine(LineKind.INTERJECTION, self._s.current_id, -1,
                            self._interjection_count * 1000 + n, sentence)
                 for n, sentence in enumerate(split_sentences(" ".join(text.split())) or [text])]
        if first:
            self._s.interjections.extendleft(reversed(lines))
        else:
            self._s.interjections.extend(lines)
        return lines[0]

    def resume_from(self, line: ScriptLine) -> None:
        """An interrupted sentence is said again from its start when the host resumes."""
        s = self._s
        if line.kind == LineKind.SCRIPT and line.product_id == s.current_id:
            index = next((n for n, ln in enumerate(s.current_lines) if ln == line), None)
            if index is not None:
                s.next_sentence = min(s.next_sentence, index)
                return
        if line.kind == LineKind.INTERJECTION:
            s.interjections.appendleft(line)
        elif line.kind == LineKind.INTRO:
            s.intro.appendleft(line)
        elif line.kind == LineKind.OUTRO:
            s.outro.appendleft(line)

    def go_to(self, product_id: str) -> None:
        if product_id not in self._s.products:
            raise KeyError(product_id)
        s = self._s
        s.requested_next = product_id
        s.skipped.discard(product_id)
        s.done.discard(product_id)
        if s.phase in {"outro", "ended"}:  # after the run-down: a new round from there
            s.done.clear()
            s.phase = "products"

    def next_product(self) -> str | None:
        target = self._upcoming_product(self._s)
        if target is not None:
            self.go_to(target)
        return target

    def set_skipped(self, product_id: str, skipped: bool) -> None:
        if product_id not in self._s.products:
            raise KeyError(product_id)
        if skipped:
            self._s.skipped.add(product_id)
            if self._s.requested_next == product_id:
                self._s.requested_next = None
        else:
            self._s.skipped.discard(product_id)

    def reorder(self, product_ids: tuple[str, ...]) -> None:
        if sorted(product_ids) != sorted(self._s.order):
            raise ValueError("a new order must name every product exactly once")
        self._s.order = list(product_ids)

    def pin(self, product_id: str | None) -> None:
        if product_id is not None and product_id not in self._s.products:
            raise KeyError(product_id)
        self.pinned = product_id

    def upsert(self, product: Product) -> None:
        s = self._s
        is_new = product.id not in s.products
        s.products[product.id] = product
        if is_new:
            s.order.append(product.id)
            if s.phase in {"outro", "ended"}:
                s.phase = "products"
        elif product.id == s.current_id:
            s.current_lines = product_lines(product)
            s.next_sentence = min(s.next_sentence, len(s.current_lines))

    def current_show(self) -> Show:
        """The show as it is now: products in queue order with the operator's edits."""
        products = [self._s.products[pid] for pid in self._s.order]
        return self._show.model_copy(update={"products": products}).with_base_dir(
            self._show.base_dir)
