"""Pixel tests for the default avatar renderer (offscreen EGL, Mesa llvmpipe is enough)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import numpy.typing as npt
import pytest

from studio.avatar import AvatarRenderer, rig
from studio.compose.gl import OffscreenGL
from studio.face.params import FaceParams
from studio.show.model import HostLook

FRAME = (1280, 720)
RECT = (60, 40, 620, 680)
Img = npt.NDArray[np.uint8]


@pytest.fixture(scope="module")
def gl() -> Iterator[OffscreenGL]:
    ctx = OffscreenGL(*FRAME)
    ctx.begin()
    yield ctx
    ctx.close()


_renderers: dict[str, AvatarRenderer] = {}


NEUTRAL = FaceParams()


def render(gl: OffscreenGL, params: FaceParams = NEUTRAL, look: HostLook | None = None,
           rect: tuple[int, int, int, int] = RECT) -> Img:
    """Draw over a transparent frame and read it back (top row first)."""
    from vispy import gloo

    look = look or HostLook()
    key = look.model_dump_json()
    if key not in _renderers:
        _renderers[key] = AvatarRenderer(look)
    gl.begin()
    gloo.clear(color=(0.0, 0.0, 0.0, 0.0))
    _renderers[key].draw(params, rect, FRAME)
    return gl.read_rgba().copy()


def crop(img: Img, r: tuple[int, int, int, int]) -> Img:
    x, y, w, h = r
    return img[y:y + h, x:x + w]


def lum(img: Img) -> npt.NDArray[np.float64]:
    return img[..., :3].astype(np.float64) @ np.array([0.299, 0.587, 0.114])


def test_draws_inside_rect_only(gl: OffscreenGL) -> None:
    for style in ("bob", "long", "bun", "short"):
        img = render(gl, FaceParams(head_yaw_rad=0.35, head_roll_rad=0.2, breath=1.0),
                     HostLook(hair_style=style))
        alpha = img[..., 3]
        x, y, w, h = RECT
        inside = np.zeros_like(alpha, dtype=bool)
        inside[y:y + h, x:x + w] = True
        assert alpha[~inside].max() == 0, style
        assert (alpha[inside] > 200).mean() > 0.35, style


def test_center_placement_1080p_rect_scales() -> None:
    r = rig.mouth_rect_px((480, 60, 960, 1020))
    small = rig.mouth_rect_px(RECT)
    assert r[2] > small[2] * 1.3
    x, y, w, h = RECT
    mx, my, mw, mh = small
    assert x < mx and mx + mw < x + w and y < my and my + mh < y + h


def test_open_vowel_shows_cavity_but_pressed_lips_do_not(gl: OffscreenGL) -> None:
    ren = AvatarRenderer(HostLook())
    box = ren.mouth_rect_px(RECT)
    dark_open = (lum(crop(render(gl, FaceParams(jaw_open=0.9)), box)) < 70).sum()
    dark_press = (lum(crop(render(gl, FaceParams(jaw_open=0.2, lip_press=1.0)), box)) < 70).sum()
    dark_round = (lum(crop(render(gl, FaceParams(jaw_open=0.35, lip_pucker=0.9)), box)) < 70).sum()
    assert dark_open > 300
    assert dark_open > 10 * max(dark_press, 1)
    assert dark_press < dark_round < dark_open


def _lip_width_px(img: Img, box: tuple[int, int, int, int]) -> int:
    """Columns holding lip-red pixels in the band around the mouth centre line."""
    m = crop(img, box).astype(np.int32)
    cy = m.shape[0] * 3 // 9  # mouth centre sits 0.03 below the box top of 0.09
    band = m[max(cy - 10, 0):cy + 12]
    red = (band[..., 0] - band[..., 1] > 70) & (band[..., 3] > 0)
    cols = np.flatnonzero(red.any(axis=0))
    return int(cols[-1] - cols[0]) if cols.size else 0


def test_pucker_is_narrower_than_stretch(gl: OffscreenGL) -> None:
    box = rig.mouth_rect_px(RECT)
    pucker = _lip_width_px(render(gl, FaceParams(lip_pucker=1.0, jaw_open=0.2)), box)
    stretch = _lip_width_px(render(gl, FaceParams(lip_stretch=1.0, jaw_open=0.2)), box)
    neutral = _lip_width_px(render(gl, FaceParams()), box)
    assert pucker < neutral < stretch
    assert stretch > 1.5 * pucker


def test_blink_closes_each_eye_independently(gl: OffscreenGL) -> None:
    left, right = rig.eye_rect_px(RECT, -1), rig.eye_rect_px(RECT, 1)
    open_img = render(gl, FaceParams())
    blink_l = render(gl, FaceParams(blink_left=1.0))

    def whites(img: Img, r: tuple[int, int, int, int]) -> int:
        return int((lum(crop(img, r)) > 225).sum())

    assert whites(open_img, left) > 150
    assert whites(blink_l, left) < 0.2 * whites(open_img, left)
    assert abs(whites(blink_l, right) - whites(open_img, right)) <= 2


def _dark_centroid_x(img: Img, r: tuple[int, int, int, int]) -> float:
    m = lum(crop(img, r)) < 60
    assert m.sum() > 20
    return float(np.nonzero(m)[1].mean()) + r[0]


def test_gaze_moves_irises(gl: OffscreenGL) -> None:
    r = rig.eye_rect_px(RECT, 1)
    # Only the iris/pupil region of the lower half: lashes sit at the top.
    low = (r[0], r[1] + r[3] // 2 - 6, r[2], r[3] // 2)
    xl = _dark_centroid_x(render(gl, FaceParams(gaze_x=-1.0)), low)
    xr = _dark_centroid_x(render(gl, FaceParams(gaze_x=1.0)), low)
    assert xr - xl > 8


def test_yaw_parallax_features_move_more_than_outline(gl: OffscreenGL) -> None:
    look = HostLook(hair_style="short")
    pl = rig.Placement.for_rect(RECT)
    row = int(pl.to_px(0.0, 0.34)[1])

    def outline_center(img: Img) -> float:
        """Middle of the bright skin span on a cheek row (dark back hair on both sides)."""
        cols = np.flatnonzero(lum(img[row:row + 1])[0] > 120)
        return float(cols[0] + cols[-1]) / 2.0

    def features_x(img: Img) -> float:
        eyes = (int(pl.to_px(-0.12, 0.0)[0]), int(pl.to_px(0.0, 0.29)[1]),
                int(0.24 * pl.scale_px), int(0.035 * pl.scale_px))
        return _dark_centroid_x(img, eyes)

    base = render(gl, FaceParams(), look)
    turned = render(gl, FaceParams(head_yaw_rad=0.3), look)
    d_feat = features_x(turned) - features_x(base)
    d_outline = outline_center(turned) - outline_center(base)
    assert d_feat > 8                     # yaw > 0 turns toward the viewer's right
    assert d_feat > 2.5 * abs(d_outline)


def test_brow_raise_and_breath_move_things(gl: OffscreenGL) -> None:
    base = render(gl)
    brow = render(gl, FaceParams(brow_raise=1.0))
    r = rig.eye_rect_px(RECT, -1)
    above = (r[0], r[1] - 40, r[2], 45)
    assert np.abs(crop(base, above).astype(int) - crop(brow, above).astype(int)).max() > 60
    pl = rig.Placement.for_rect(RECT)
    col = int(pl.to_px(0.25, 0.0)[0])

    def shoulder_top(img: Img) -> int:
        return int(np.flatnonzero(img[:, col, 3] > 128)[0])

    assert shoulder_top(render(gl, FaceParams(breath=1.0))) < shoulder_top(base)


def test_look_options_take_effect(gl: OffscreenGL) -> None:
    pl = rig.Placement.for_rect(RECT)
    sx, sy = (int(v) for v in pl.to_px(0.25, 0.8))
    red = render(gl, look=HostLook(outfit_color="#c0392b"))
    blue = render(gl, look=HostLook(outfit_color="#2455aa"))
    assert red[sy, sx, 0] > red[sy, sx, 2] + 40
    assert blue[sy, sx, 2] > blue[sy, sx, 0] + 40
    # Skin tone on the cheek.
    cx, cy = (int(v) for v in pl.to_px(-0.05, 0.38))
    light = render(gl, look=HostLook(skin_tone="porcelain"))
    deep = render(gl, look=HostLook(skin_tone="deep"))
    assert lum(light[cy:cy + 1, cx:cx + 1])[0, 0] > lum(deep[cy:cy + 1, cx:cx + 1])[0, 0] + 80
    # Hair styles differ in silhouette; hair colour shows on the crown.
    masks = {s: render(gl, look=HostLook(hair_style=s))[..., 3] > 128
             for s in ("bob", "long", "bun", "short")}
    styles = list(masks)
    for i, a in enumerate(styles):
        for b in styles[i + 1:]:
            assert (masks[a] != masks[b]).sum() > 2000, (a, b)
    hx, hy = (int(v) for v in pl.to_px(0.0, 0.07))
    blond = render(gl, look=HostLook(hair_color="#e8c070"))
    dark = render(gl, look=HostLook(hair_color="#1a1410"))
    assert lum(blond[hy:hy + 1, hx:hx + 1])[0, 0] > lum(dark[hy:hy + 1, hx:hx + 1])[0, 0] + 80
    # Eye and lip colours.
    er = rig.eye_rect_px(RECT, 1)
    green = crop(render(gl, look=HostLook(eye_color="#2f9e4a")), er).astype(int)
    brown = crop(render(gl, look=HostLook(eye_color="#6a3a1a")), er).astype(int)
    assert (green[..., 1] - green[..., 0] > 40).sum() > 30
    assert (brown[..., 1] - brown[..., 0] > 40).sum() < 5
    mr = rig.mouth_rect_px(RECT)
    purple = crop(render(gl, look=HostLook(lip_color="#7a2a9a")), mr).astype(int)
    assert (purple[..., 2] - purple[..., 1] > 60).sum() > 100


def test_render_is_deterministic(gl: OffscreenGL) -> None:
    p = FaceParams(jaw_open=0.4, smile=0.5, head_yaw_rad=0.12, gaze_x=0.3, blink_right=0.5)
    assert np.array_equal(render(gl, p), render(gl, p))


def test_rect_resize_rebuilds(gl: OffscreenGL) -> None:
    big = render(gl, rect=(300, 20, 700, 700))
    assert big[..., 3][:, :300].max() == 0
    small = render(gl, rect=(60, 40, 620, 680))
    assert small[..., 3][:, 700:].max() == 0
