"""The mandatory "AI-generated · AI生成" label (China's GB 45438-2025 implicit/explicit marking).

The standard asks that the text be at least 5% of the frame's short side tall, so the font
size is not guessed from a ratio: it is grown until the *rendered* capital "A" measures that
tall. The text sits on a semi-opaque dark pill so it reads over any background.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw, ImageFont

from studio.compose.fonts import PROPORTIONAL_FEATURES, load_font
from studio.core.errors import UserInputError

AI_LABEL_TEXT = "AI-generated · AI生成"
MIN_TEXT_HEIGHT_FRACTION = 0.05  # of the frame's short side, per GB 45438-2025
INK_THRESHOLD = 128  # coverage (0-255) from which a pixel counts as ink when measuring
PILL_RGB = (14, 14, 18)
PILL_ALPHA = 0.62
TEXT_RGB = (255, 255, 255)
_SHAPE_SUPERSAMPLE = 4


def _ink_rows(mask: npt.NDArray[np.uint8]) -> int:
    """Height in px of the rows holding ink of at least INK_THRESHOLD coverage."""
    rows = np.flatnonzero((mask >= INK_THRESHOLD).any(axis=1))
    return 0 if rows.size == 0 else int(rows[-1] - rows[0] + 1)


def _text_mask(text: str, font: ImageFont.FreeTypeFont) -> npt.NDArray[np.uint8]:
    """Anti-aliased coverage of ``text``, cropped to its ink."""
    left, top, right, bottom = (math.floor(v) if i < 2 else math.ceil(v) for i, v in
                                enumerate(font.getbbox(text, features=PROPORTIONAL_FEATURES)))
    pad = 2
    image = Image.new("L", (right - left + 2 * pad, bottom - top + 2 * pad), 0)
    ImageDraw.Draw(image).text((pad - left, pad - top), text, font=font, fill=255,
                              features=PROPORTIONAL_FEATURES)
    mask = np.asarray(image, dtype=np.uint8)
    ys, xs = np.nonzero(mask)
    return mask[ys.min(): ys.max() + 1, xs.min(): xs.max() + 1]


def label_font_size_px(frame_short_side_px: int) -> int:
    """Smallest bold size whose rendered capital "A" is >= 5% of the short side tall."""
    target_px = math.ceil(MIN_TEXT_HEIGHT_FRACTION * frame_short_side_px)
    size_px = max(6, int(target_px / 0.74) - 1)  # Noto's cap height is ~0.73 em
    while _ink_rows(_text_mask("A", load_font(size_px, bold=True))) < target_px:
        size_px += 1
    return size_px


def _pill_mask(width_px: int, height_px: int) -> npt.NDArray[np.uint8]:
    """A fully rounded rectangle, drawn supersampled for smooth edges."""
    s = _SHAPE_SUPERSAMPLE
    big = Image.new("L", (width_px * s, height_px * s), 0)
    ImageDraw.Draw(big).rounded_rectangle(
        (0, 0, width_px * s - 1, height_px * s - 1), radius=height_px * s // 2, fill=255)
    return np.asarray(big.resize((width_px, height_px), Image.Resampling.LANCZOS),
                      dtype=np.uint8)


@functools.lru_cache(maxsize=8)
def _render(frame_width_px: int, frame_height_px: int) -> tuple[
        npt.NDArray[np.uint8], tuple[int, int], tuple[int, int, int, int]]:
    if frame_width_px < 64 or frame_height_px < 64:
        raise UserInputError(
            f"frame {frame_width_px}x{frame_height_px} is too small for the AI label")
    short_px = min(frame_width_px, frame_height_px)
    ink = _text_mask(AI_LABEL_TEXT, load_font(label_font_size_px(short_px), bold=True))
    ink_h, ink_w = ink.shape
    pad_y = max(3, round(ink_h * 0.32))
    pad_x = max(5, round(ink_h * 0.55))
    pill_w, pill_h = ink_w + 2 * pad_x, ink_h + 2 * pad_y
    margin = max(0, min(round(0.03 * short_px), (frame_width_px - pill_w) // 2))
    if pill_w > frame_width_px or pill_h > frame_height_px:
        raise UserInputError(
            f"frame {frame_width_px}x{frame_height_px} is too narrow for a legible AI label")

    pill = np.zeros((pill_h, pill_w, 4), dtype=np.uint8)
    pill[..., :3] = PILL_RGB
    pill[..., 3] = (_pill_mask(pill_w, pill_h).astype(np.float32) * PILL_ALPHA).round()
    text = np.zeros_like(pill)
    text[..., :3] = TEXT_RGB
    text[pad_y: pad_y + ink_h, pad_x: pad_x + ink_w, 3] = ink
    label = Image.alpha_composite(Image.fromarray(pill, "RGBA"), Image.fromarray(text, "RGBA"))
    rgba = np.asarray(label, dtype=np.uint8).copy()
    rgba.setflags(write=False)
    position = (margin, margin)
    return rgba, position, (margin + pad_x, margin + pad_y, ink_w, ink_h)


def render_ai_label(frame_width_px: int, frame_height_px: int) -> tuple[
        npt.NDArray[np.uint8], tuple[int, int]]:
    """The label as straight-alpha RGBA and its (x, y) top-left position in the frame.

    It sits in the top-left corner with a margin of 3% of the short side.
    """
    rgba, position, _ = _render(frame_width_px, frame_height_px)
    return rgba.copy(), position


def label_text_box_px(frame_width_px: int, frame_height_px: int) -> tuple[int, int, int, int]:
    """(x, y, w, h) in frame pixels of the label's text ink, to measure it in output frames."""
    return _render(frame_width_px, frame_height_px)[2]
