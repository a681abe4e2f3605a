"""Contact sheets of the avatar for the README: ``python -m studio.avatar.preview [out_dir]``.

Renders offscreen over a transparent frame and composites onto a studio-like gradient in numpy,
so the sheets show exactly what the compositor would get.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw

from studio.avatar.renderer import AvatarRenderer
from studio.compose.gl import OffscreenGL
from studio.face.params import FaceParams
from studio.show.model import HostLook

TILE = (620, 680)
EXPRESSIONS: list[tuple[str, FaceParams]] = [
    ("neutral", FaceParams()),
    ("open vowel (jaw 0.8)", FaceParams(jaw_open=0.8, brow_raise=0.3)),
    ("rounded vowel (pucker 0.9)", FaceParams(jaw_open=0.35, lip_pucker=0.9)),
    ("closed bilabial (press 1)", FaceParams(lip_press=1.0, jaw_open=0.1)),
    ("smile", FaceParams(smile=1.0, jaw_open=0.25, lip_stretch=0.3)),
    ("blink", FaceParams(blink_left=1.0, blink_right=1.0)),
    ("yaw left + gaze", FaceParams(head_yaw_rad=-0.35, gaze_x=-0.7, jaw_open=0.3)),
    ("yaw right + roll", FaceParams(head_yaw_rad=0.35, head_roll_rad=0.12, gaze_x=0.6,
                                    smile=0.5)),
]
STYLES: list[tuple[str, HostLook]] = [
    ("bob", HostLook()),
    ("long", HostLook(hair_style="long", hair_color="#6b3a22", skin_tone="medium",
                      outfit_color="#7a2436", eye_color="#2f6d8a", lip_color="#b04a55")),
    ("bun", HostLook(hair_style="bun", hair_color="#1b1412", skin_tone="deep",
                     outfit_color="#c9a227", eye_color="#3a2414", lip_color="#8e3b46")),
    ("short", HostLook(hair_style="short", hair_color="#d9b26a", skin_tone="porcelain",
                       outfit_color="#2f6b4f", eye_color="#3f7f4a", lip_color="#d0707a")),
]


def _background(h: int, w: int) -> npt.NDArray[np.float32]:
    y = np.linspace(0.0, 1.0, h, dtype=np.float32)[:, None, None]
    x = np.linspace(-1.0, 1.0, w, dtype=np.float32)[None, :, None]
    top = np.array([0.16, 0.24, 0.42], dtype=np.float32)
    bottom = np.array([0.07, 0.1, 0.2], dtype=np.float32)
    glow = np.exp(-(x ** 2) * 1.5 - (y - 0.35) ** 2 * 4.0) * 0.12
    out: npt.NDArray[np.float32] = (top * (1 - y) + bottom * y + glow).astype(np.float32)
    return out


def render_tiles(frames: list[tuple[str, FaceParams, HostLook]]) -> list[Image.Image]:
    from vispy import gloo

    w, h = TILE
    gl = OffscreenGL(w, h)
    gl.begin()
    bg = _background(h, w)
    renderers: dict[str, AvatarRenderer] = {}
    tiles = []
    for label, params, look in frames:
        key = look.model_dump_json()
        ren = renderers.setdefault(key, AvatarRenderer(look))
        gloo.clear(color=(0.0, 0.0, 0.0, 0.0))
        ren.draw(params, (0, 0, w, h), (w, h))
        rgba = gl.read_rgba().astype(np.float32) / 255.0
        rgb = rgba[..., :3] + bg * (1.0 - rgba[..., 3:4])  # framebuffer is premultiplied
        img = Image.fromarray(np.clip(rgb * 255.0 + 0.5, 0, 255).astype(np.uint8))
        draw = ImageDraw.Draw(img)
        draw.rectangle((0, h - 34, w, h), fill=(10, 14, 28))
        draw.text((14, h - 28), label, fill=(235, 235, 240), font_size=20)
        tiles.append(img)
    gl.close()
    return tiles


def sheet(tiles: list[Image.Image], cols: int, scale: float = 0.5) -> Image.Image:
    w, h = tiles[0].size
    rows = (len(tiles) + cols - 1) // cols
    out = Image.new("RGB", (w * cols, h * rows), (0, 0, 0))
    for i, t in enumerate(tiles):
        out.paste(t, ((i % cols) * w, (i // cols) * h))
    return out.resize((int(out.width * scale), int(out.height * scale)), Image.Resampling.LANCZOS)


def main(out_dir: str = "docs") -> None:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    look = HostLook()
    expr = render_tiles([(n, p, look) for n, p in EXPRESSIONS])
    sheet(expr, 4).save(out / "avatar_expressions.png")
    styles = render_tiles([(n, FaceParams(smile=0.3), lk) for n, lk in STYLES])
    sheet(styles, 4).save(out / "avatar_styles.png")


if __name__ == "__main__":
    main(*sys.argv[1:2])
