"""The picture on air while a human has taken over (until the camera arrives in its issue)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw, ImageOps, UnidentifiedImageError

from studio.compose.background import render_background
from studio.compose.fonts import load_font
from studio.core.errors import UserInputError


def render_standby(width_px: int, height_px: int, image_path: Path | None = None,
                   message: str = "Live with our host · 主播直播中") -> npt.NDArray[np.uint8]:
    """RGBA of the standby picture: the operator's image (cover-fitted) or a built-in card."""
    if image_path is not None:
        try:
            with Image.open(image_path) as src:
                img = ImageOps.fit(src.convert("RGB"), (width_px, height_px),
                                   Image.Resampling.LANCZOS)
        except (FileNotFoundError, UnidentifiedImageError, OSError) as exc:
            raise UserInputError(f"standby picture {image_path} cannot be used ({exc}); "
                                 "choose a PNG or JPEG file") from None
        return np.asarray(img.convert("RGBA"), dtype=np.uint8).copy()
    base = Image.fromarray(render_background("studio-dark", width_px, height_px))
    draw = ImageDraw.Draw(base)
    size = max(12, round(min(width_px, height_px) * 0.07))
    font = load_font(size, bold=True)
    box = draw.textbbox((0, 0), message, font=font)
    x = (width_px - (box[2] - box[0])) // 2
    y = (height_px - (box[3] - box[1])) // 2
    draw.text((x, y), message, font=font, fill=(240, 240, 245, 255))
    return np.asarray(base.convert("RGBA"), dtype=np.uint8).copy()
