"""Backgrounds: studio presets drawn procedurally, a flat colour, or the merchant's own image."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt

from studio.core.errors import UserInputError
from studio.show.model import BACKGROUND_PRESETS, HEX_COLOR

# (top colour, bottom colour, light colour) per preset.
_PRESETS: dict[str, tuple[str, str, str]] = {
    "studio-blue": ("#1d3b63", "#0b1628", "#6fa8ff"),
    "studio-warm": ("#5a3a2c", "#1f1410", "#ffc58a"),
    "studio-dark": ("#24242c", "#09090c", "#9aa3c7"),
    "studio-green": ("#1f4a3f", "#0a1a16", "#8af0c8"),
}


def _rgb(hex_color: str) -> npt.NDArray[np.float32]:
    return np.array([int(hex_color[i:i + 2], 16) / 255.0 for i in (1, 3, 5)], np.float32)


def render_background(spec: str, width_px: int, height_px: int,
                      base_dir: Path | None = None) -> npt.NDArray[np.uint8]:
    """Opaque RGBA for ``[stage] background``: a preset name, "#rrggbb" or an image path."""
    if spec in _PRESETS:
        top, bottom, light = _PRESETS[spec]
        return _studio(_rgb(top), _rgb(bottom), _rgb(light), width_px, height_px)
    if HEX_COLOR.match(spec):
        base = _rgb(spec)
        return _studio(np.clip(base * 1.15, 0, 1), base * 0.55, np.clip(base * 1.6 + 0.2, 0, 1),
                       width_px, height_px, lights=False)
    path = Path(spec)
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    if not path.is_file():
        raise UserInputError(
            f"[stage] background {spec!r} is not a preset ({', '.join(BACKGROUND_PRESETS)}), "
            f"a colour like \"#203040\", or an existing image file (looked for {path})")
    return _image(path, width_px, height_px)


def _studio(top: npt.NDArray[np.float32], bottom: npt.NDArray[np.float32],
            light: npt.NDArray[np.float32], width_px: int, height_px: int,
            lights: bool = True) -> npt.NDArray[np.uint8]:
    y = np.linspace(0.0, 1.0, height_px, dtype=np.float32)[:, None, None]
    x = np.linspace(-1.0, 1.0, width_px, dtype=np.float32)[None, :, None]
    aspect = width_px / height_px
    img = top * (1 - y) + bottom * y
    # A soft key light behind the host and a vignette, as a studio set would have.
    glow = np.exp(-(((x * aspect + 0.5 * aspect * 0.4) ** 2) / 0.9 + ((y - 0.45) ** 2) / 0.18))
    img = img + light * 0.22 * glow
    if lights:
        rng = np.random.default_rng(7)
        for _ in range(14):  # out-of-focus bokeh lights in the set
            cx, cy = rng.uniform(-1, 1) * aspect, rng.uniform(0.05, 0.6)
            radius = rng.uniform(0.04, 0.11)
            d = np.sqrt((x * aspect - cx) ** 2 + ((y - cy) * 2) ** 2)
            disc = np.clip((radius - d) / 0.012, 0, 1) * rng.uniform(0.05, 0.13)
            img = img + light * disc
        # a floor line for depth
        img = img * (1 - 0.25 * np.clip((y - 0.78) * 6, 0, 1))
    vignette = 1 - 0.35 * np.clip(x ** 2 * 0.6 + (y - 0.45) ** 2 * 1.2, 0, 1)
    img = np.clip(img * vignette, 0, 1)
    # Dither so gradients don't band after 8-bit and H.264 quantisation.
    noise = np.random.default_rng(1).uniform(-0.5, 0.5, img.shape[:2])[:, :, None] / 255
    rgb = np.clip((img + noise) * 255 + 0.5, 0, 255).astype(np.uint8)
    alpha = np.full((height_px, width_px, 1), 255, np.uint8)
    return np.concatenate([rgb, alpha], axis=2)


def _image(path: Path, width_px: int, height_px: int) -> npt.NDArray[np.uint8]:
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with Image.open(path) as src:
            img = ImageOps.fit(src.convert("RGB"), (width_px, height_px),
                               Image.Resampling.LANCZOS)
    except (UnidentifiedImageError, OSError) as exc:
        raise UserInputError(f"background image {path} cannot be read ({exc}); "
                             "use a PNG or JPEG file") from None
    return np.asarray(img.convert("RGBA"), dtype=np.uint8)
