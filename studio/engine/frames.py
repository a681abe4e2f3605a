"""Turns the program state at a frame into a picture: face motion, product card, composition."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from studio.avatar.base import NO_AUDIO_WINDOW, FrameAudio, build_avatar
from studio.compose.card import render_product_card
from studio.compose.compositor import Compositor
from studio.core.clock import MediaClock
from studio.core.errors import StudioError
from studio.core.media import AudioChunk, FloatAudio, copy_overlap
from studio.face.motion import FaceMotion
from studio.face.params import FaceParams
from studio.program.timeline import ProductSegment
from studio.show.model import Show

_LOG = logging.getLogger("studio.engine")

CARD_FADE_IN_S = 0.35
CARD_FADE_OUT_S = 0.25
CARD_SLIDE_PX_AT_720 = 48
MIN_CARD_W_PX, MIN_CARD_H_PX = 240, 200


@dataclass(frozen=True, slots=True)
class FrameState:
    """What is on screen in one frame; the timeline file and tests read the same facts."""

    index: int
    start_samples: int
    face: FaceParams
    product_id: str | None
    card_alpha: float
    camera_alpha: float = 0.0  # the human on camera covers the host (0..1)
    label: bool = True  # the AI label: whenever the avatar shows or a synthetic voice speaks
    # The program's sound around the frame, for an avatar that hears the voice (None for
    # one that does not: the default host, a photo avatar).
    audio: FrameAudio | None = field(default=None, compare=False, repr=False)


Ahead = Callable[[int, int], FloatAudio]
"""``ahead(start, end)``: the speech the program has placed for [start, end), not on air yet
(``SpeechMixer.peek``)."""


class ProgramSound:
    """The program's sound around each frame, for an avatar that hears the voice.

    Before the frame: what went on air (``heard``, in order: the AI's voice, the microphone
    while a human speaks, as the outputs got it). From the end of that on: the speech the
    program has placed ahead (``ahead``), which is what will go on air unless the operator
    cuts it. A gap in what was heard (a frame not rendered) is silence."""

    def __init__(self, sample_rate_hz: int, window_s: tuple[float, float]) -> None:
        self.sample_rate_hz = sample_rate_hz
        self.before = math.ceil(max(0.0, window_s[0]) * sample_rate_hz)
        self.after = math.ceil(max(0.0, window_s[1]) * sample_rate_hz)
        self._keep = max(1, self.before + self.after)  # what was heard may run ahead
        self._heard = np.zeros(self._keep, np.float32)  # what was heard up to _end
        self._end = 0

    def heard(self, chunk: AudioChunk) -> None:
        """``chunk`` went on air."""
        start, x = chunk.pts_samples, chunk.samples
        end = max(self._end, start + x.shape[0])
        buf = np.zeros(self._keep, np.float32)
        copy_overlap(buf, end - self._keep, self._heard, self._end - self._keep)
        copy_overlap(buf, end - self._keep, x, start)
        self._heard, self._end = buf, end

    def window(self, frame_start: int, ahead: Ahead | None) -> FrameAudio:
        start, end = frame_start - self.before, frame_start + self.after
        out = np.zeros(end - start, np.float32)
        copy_overlap(out, start, self._heard, self._end - self._keep)
        split = max(self._end, start)
        if ahead is not None and split < end:
            out[split - start:] = ahead(split, end)
        return FrameAudio(frame_start, AudioChunk(start, out, self.sample_rate_hz))


class FrameRenderer:
    """Renders frames of a show in order; one per call, on the thread that created it."""

    def __init__(self, show: Show, width_px: int, height_px: int, clock: MediaClock,
                 face: FaceMotion, *, draw_host: bool = True) -> None:
        self.show = show
        self.clock = clock
        self.face = face
        host = show.host
        self.compositor = Compositor(
            width_px, height_px, show.stage,
            (lambda: build_avatar(host, show.base_dir)) if draw_host else None,
            base_dir=show.base_dir)
        self._cards: dict[str, npt.NDArray[np.uint8]] = {}
        self._failed_cards: set[str] = set()
        self.products = {p.id: p for p in show.products}  # live edits replace entries
        self.on_problem: Callable[[str], None] | None = None
        self._slide_px = round(CARD_SLIDE_PX_AT_720 * height_px / 720)
        avatar = self.compositor.avatar
        window = avatar.audio_window_s if avatar is not None else NO_AUDIO_WINDOW
        # Only an avatar that hears the voice is given it (the others cost nothing).
        self.sound = (ProgramSound(clock.sample_rate_hz, window)
                      if window != NO_AUDIO_WINDOW else None)

    def card_image(self, product_id: str) -> npt.NDArray[np.uint8]:
        card = self._cards.get(product_id)
        if card is None:
            product = self.products.get(product_id) or self.show.product(product_id)
            _, _, w, h = self.compositor.layout.card_rect_px
            # Tiny frames (previews, tests): draw the card at a legible size, then shrink it.
            scale = max(1.0, MIN_CARD_W_PX / w, MIN_CARD_H_PX / h)
            report = self.on_problem

            def image_problem(message: str) -> None:  # live: the card without its image
                if report is not None:
                    report(f"the card for product {product_id!r} is shown without its image: "
                           f"{message}")

            card = render_product_card(product, self.show.product_image_path(product),
                                       self.show.stage.accent_color, round(w * scale),
                                       round(h * scale),
                                       on_image_problem=None if report is None else image_problem)
            if scale > 1.0:
                from PIL import Image

                card = np.asarray(Image.fromarray(card).resize((w, h),
                                                               Image.Resampling.LANCZOS))
            self._cards[product_id] = card
        return card

    def forget_card(self, product_id: str) -> None:
        """Drop a cached card (the product was edited); it is rendered again when shown."""
        self._cards.pop(product_id, None)
        self._failed_cards.discard(product_id)
        self.compositor.forget_card(product_id)

    def heard(self, chunk: AudioChunk) -> None:
        """The program's sound of a frame, as it went on air (in order)."""
        if self.sound is not None:
            self.sound.heard(chunk)

    def state_at(self, index: int, segment: ProductSegment | None,
                 ahead: Ahead | None = None) -> FrameState:
        """What frame ``index`` shows; an avatar that hears the voice gets the program's
        sound around it: what was ``heard`` before it, then the speech placed ``ahead``."""
        start = self.clock.frame_start_sample(index)
        face = self.face.params_at_frame(index)
        product_id = segment.product_id if segment is not None else None
        alpha = 0.0
        if segment is not None and product_id is not None:
            rate = self.clock.sample_rate_hz
            since_s = (start - segment.start_samples) / rate
            alpha = min(1.0, max(0.0, since_s / CARD_FADE_IN_S))
            if segment.end_samples > segment.start_samples:
                until_s = (segment.end_samples - start) / rate
                alpha = min(alpha, max(0.0, until_s / CARD_FADE_OUT_S))
        audio = self.sound.window(start, ahead) if self.sound is not None else None
        return FrameState(index, start, face, product_id, alpha, audio=audio)

    def draw(self, state: FrameState) -> None:
        pid = state.product_id
        if pid is not None and pid not in self._failed_cards:
            try:
                self.compositor.set_card(pid, self.card_image(pid))
            except StudioError as exc:
                if self.on_problem is None:
                    raise
                # Live: tell the operator once and keep the host on air without this card.
                self._failed_cards.add(pid)
                self.compositor.set_card(None, None)
                self.on_problem(f"the card for product {pid!r} cannot be drawn: {exc}")
        else:
            self.compositor.set_card(None, None)
        ease = 1.0 - (1.0 - state.card_alpha) ** 3
        self.compositor.compose(state.face, card_alpha=ease,
                                card_offset_px=round((1.0 - ease) * self._slide_px),
                                camera_alpha=state.camera_alpha, label=state.label,
                                audio=state.audio)

    def close(self) -> None:
        self.compositor.close()
