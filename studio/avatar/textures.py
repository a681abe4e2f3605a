"""Paint the host's static layers (back hair, body, face, front hair) once per rect size.

Everything that does not change per frame is painted here with numpy at the exact on-screen
scale, so per-frame work is just textured meshes. Shapes are authored in design units (rig.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from studio.avatar import rig
from studio.avatar.paint import F32, Color, Layer, hex_rgb, mirror, mix, scale, smoothstep, spline
from studio.show.model import SKIN_TONES, HostLook

Pts = list[tuple[float, float]]
WHITE: Color = (1.0, 1.0, 1.0)


@dataclass(frozen=True, slots=True)
class Palette:
    skin: Color
    skin_shade: Color
    blush: Color
    hair: Color
    outfit: Color
    shirt: Color
    eye: Color
    lip: Color
    lash: Color
    brow: Color
    masculine: float = 0.0  # 1: no blush, straighter, heavier brows, no lash flick

    @staticmethod
    def from_look(look: HostLook) -> Palette:
        # Defaults are not run through the validator, so names may still arrive here.
        skin = hex_rgb(SKIN_TONES.get(look.skin_tone, look.skin_tone))
        hair = hex_rgb(look.hair_color)
        # Warm, slightly saturated shadow: multiply-style so it works on every skin tone.
        shade = (skin[0] * 0.86, skin[1] * 0.70, skin[2] * 0.68)
        return Palette(
            skin=skin, skin_shade=shade, blush=mix(skin, (0.96, 0.42, 0.45), 0.55),
            hair=hair, outfit=hex_rgb(look.outfit_color), shirt=(0.95, 0.94, 0.93),
            eye=hex_rgb(look.eye_color), lip=hex_rgb(look.lip_color),
            lash=mix(scale(hair, 0.45), (0.08, 0.05, 0.05), 0.6),
            brow=mix(scale(hair, 0.8), (0.15, 0.1, 0.08), 0.25),
            masculine=1.0 if look.face_style == "masculine" else 0.0,
        )


@dataclass(frozen=True, slots=True)
class HairShapes:
    back: list[Pts]
    front: list[Pts]
    strands: list[tuple[Pts, float]]        # open curves with a width, drawn in front
    bun: tuple[tuple[float, float], float] | None


def hair_shapes(style: str) -> HairShapes:
    """Outlines of each hair style's back and front layers (design units)."""
    if style == "long":
        back = [mirror([(0.0, 0.03), (0.10, 0.045), (0.17, 0.11), (0.2, 0.22), (0.212, 0.36),
                        (0.228, 0.52), (0.248, 0.68), (0.25, 0.80), (0.2, 0.86), (0.1, 0.84)])]
        front = [mirror([(0.0, 0.034), (0.08, 0.044), (0.15, 0.09), (0.19, 0.17), (0.205, 0.29),
                         (0.214, 0.42), (0.23, 0.56), (0.236, 0.68), (0.21, 0.775),
                         (0.17, 0.69), (0.136, 0.58), (0.124, 0.47), (0.138, 0.37),
                         (0.136, 0.28), (0.112, 0.21), (0.072, 0.145), (0.032, 0.088),
                         (0.0, 0.064)])]
        strands = [([(0.17, 0.30), (0.18, 0.45), (0.2, 0.62), (0.205, 0.72)], 0.006),
                   ([(-0.17, 0.30), (-0.18, 0.45), (-0.2, 0.62), (-0.205, 0.72)], 0.006)]
        return HairShapes(back, front, strands, None)
    if style == "bun":
        back = [mirror([(0.0, 0.05), (0.1, 0.064), (0.163, 0.13), (0.18, 0.23), (0.172, 0.31),
                        (0.15, 0.37), (0.09, 0.39), (0.0, 0.39)])]
        front = [mirror([(0.0, 0.047), (0.09, 0.06), (0.152, 0.112), (0.176, 0.19),
                         (0.172, 0.275), (0.16, 0.315), (0.149, 0.25), (0.138, 0.185),
                         (0.10, 0.138), (0.05, 0.122), (0.0, 0.128)])]
        strands = [([(0.128, 0.15), (0.147, 0.25), (0.15, 0.34), (0.138, 0.41)], 0.012),
                   ([(-0.128, 0.15), (-0.147, 0.25), (-0.15, 0.34), (-0.138, 0.41)], 0.012),
                   ([(-0.02, 0.125), (0.04, 0.15), (0.09, 0.16), (0.13, 0.2)], 0.010)]
        return HairShapes(back, front, strands, ((0.0, 0.062), 0.058))
    if style == "short":
        back = [mirror([(0.0, 0.03), (0.1, 0.042), (0.17, 0.1), (0.19, 0.2), (0.186, 0.3),
                        (0.166, 0.37), (0.1, 0.40), (0.0, 0.40)])]
        front = [[(-0.168, 0.31), (-0.19, 0.2), (-0.168, 0.1), (-0.1, 0.045), (0.0, 0.03),
                  (0.1, 0.042), (0.168, 0.095), (0.192, 0.19), (0.178, 0.31), (0.154, 0.25),
                  (0.142, 0.19), (0.122, 0.2), (0.095, 0.17), (0.066, 0.198), (0.035, 0.163),
                  (0.004, 0.19), (-0.028, 0.158), (-0.06, 0.18), (-0.092, 0.155),
                  (-0.118, 0.182), (-0.14, 0.178), (-0.153, 0.235)]]
        return HairShapes(back, front, [], None)
    # bob (default)
    back = [mirror([(0.0, 0.03), (0.10, 0.048), (0.165, 0.11), (0.195, 0.22), (0.202, 0.33),
                    (0.207, 0.43), (0.192, 0.49), (0.15, 0.505), (0.08, 0.495)])]
    front = [[(-0.166, 0.492), (-0.192, 0.40), (-0.197, 0.28), (-0.186, 0.17), (-0.142, 0.085),
              (-0.07, 0.043), (0.0, 0.035), (0.08, 0.048), (0.145, 0.094), (0.186, 0.17),
              (0.197, 0.28), (0.193, 0.40), (0.17, 0.492), (0.148, 0.44), (0.134, 0.37),
              (0.128, 0.3), (0.124, 0.25), (0.114, 0.236), (0.1, 0.207), (0.076, 0.24),
              (0.05, 0.203),
              (0.02, 0.244), (-0.012, 0.192), (-0.05, 0.23), (-0.074, 0.19), (-0.1, 0.226),
              (-0.12, 0.222), (-0.127, 0.29), (-0.135, 0.36), (-0.148, 0.43)]]
    return HairShapes(back, front, [], None)


FACE_OUTLINE: Pts = mirror([(0.0, 0.06), (0.085, 0.075), (0.136, 0.13), (0.155, 0.21),
                            (0.153, 0.29), (0.144, 0.345), (0.123, 0.397), (0.087, 0.433),
                            (0.042, 0.453), (0.0, 0.457)])


def stroke(pts: Pts, width_u: float, taper: bool = True) -> npt.NDArray[np.float64]:
    """Polygon of a tapered stroke along a smooth open curve (hair strands, seams)."""
    c = spline(pts, closed=False, per_seg=10)
    d = np.gradient(c, axis=0)
    n = np.stack([-d[:, 1], d[:, 0]], axis=1)
    n /= np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-9)
    t = np.linspace(0.0, 1.0, len(c))[:, None]
    w = width_u * 0.5 * (np.sin(np.pi * np.clip(t * 1.2, 0, 1)) if taper else 1.0)
    return np.concatenate([c + n * w, (c - n * w)[::-1]])


def _shade_hair(layer: Layer, mask: F32, pal: Palette, dark: float) -> None:
    """Fill a hair mask: top-lit gradient, strand texture, soft rim and a glossy highlight ring."""
    X, Y = layer.X, layer.Y
    crown = (0.0, 0.02)
    grad = (1.12 - 0.38 * smoothstep(0.05, 0.75, Y)) * dark
    base = np.asarray(pal.hair, dtype=np.float32)
    col = np.clip(base[None, None, :] * grad[..., None] + 0.015, 0.0, 1.0).astype(np.float32)
    layer.paint(mask, col)
    ang = np.arctan2(X - crown[0], Y - crown[1])
    stripes = 0.5 + 0.5 * np.sin(ang * 90.0 + 2.5 * np.sin(ang * 11.0))
    layer.multiply(mask * stripes.astype(np.float32), (0.8, 0.8, 0.82), 0.45)
    rim = 1.0 - layer.blur(mask, 0.012)
    layer.multiply(mask * np.clip(rim * 2.0, 0.0, 1.0), (0.6, 0.6, 0.65), 0.7)
    r = np.hypot(X - crown[0], (Y - crown[1]) * 1.05)
    wav = 0.003 * np.sin(ang * 38.0) + 0.002 * np.sin(ang * 91.0)
    ring = smoothstep(0.088, 0.1, r + wav) * (1.0 - smoothstep(0.104, 0.118, r - wav))
    ring *= (1.0 - smoothstep(0.1, 0.17, Y)) * (1.0 - smoothstep(0.6, 1.3, np.abs(ang)))
    hi = mix(pal.hair, WHITE, 0.4)
    layer.tint(mask * ring, hi, 0.4 * dark)


def paint_back_hair(style: str, pal: Palette, scale_px: float) -> Layer:
    shapes = hair_shapes(style)
    layer = Layer((-0.28, -0.01, 0.28, 0.9), scale_px)
    mask = np.zeros((layer.h_px, layer.w_px), dtype=np.float32)
    for pts in shapes.back:
        mask = np.maximum(mask, layer.shape(pts))
    _shade_hair(layer, mask, pal, 0.78)
    # Inner shadow where the head sits in front: darker near the face outline.
    face = layer.shape(FACE_OUTLINE)
    layer.multiply(layer.blur(face, 0.03) * mask, (0.55, 0.55, 0.6), 0.8)
    layer.erase_inside(face, 0.035)
    if shapes.bun is not None:
        (bx, by), br = shapes.bun
        bun = layer.ellipse((bx, by), (br * 1.05, br))
        _shade_hair(layer, bun, pal, 1.0)
        ang = np.arctan2(layer.X - bx, layer.Y - by)
        rr = np.hypot(layer.X - bx, layer.Y - by) / br
        swirl = 0.5 + 0.5 * np.sin(ang * 3.0 + rr * 14.0)
        layer.multiply(bun * swirl.astype(np.float32), (0.72, 0.72, 0.76), 0.6)
        layer.multiply(bun * smoothstep(0.6, 1.0, rr), (0.7, 0.7, 0.75), 0.6)
        tie = layer.ellipse((bx, by + br * 0.95), (br * 0.75, br * 0.2))
        layer.paint(tie * layer.shape(shapes.back[0]), scale(pal.hair, 0.6), 0.8)
    return layer


def paint_front_hair(style: str, pal: Palette, scale_px: float) -> Layer:
    shapes = hair_shapes(style)
    layer = Layer((-0.26, 0.0, 0.26, 0.8), scale_px)
    mask = np.zeros((layer.h_px, layer.w_px), dtype=np.float32)
    for pts in shapes.front:
        mask = np.maximum(mask, layer.shape(pts))
    for pts, w in shapes.strands:
        mask = np.maximum(mask, layer.poly(stroke(pts, w)))
    _shade_hair(layer, mask, pal, 1.0)
    return layer


def front_hair_mask(style: str, layer: Layer) -> F32:
    shapes = hair_shapes(style)
    mask = np.zeros((layer.h_px, layer.w_px), dtype=np.float32)
    for pts in shapes.front:
        mask = np.maximum(mask, layer.shape(pts))
    for pts, w in shapes.strands:
        mask = np.maximum(mask, layer.poly(stroke(pts, w)))
    return mask


def paint_face(style: str, pal: Palette, scale_px: float) -> Layer:
    """Skin of the head: face, ears, nose and cheek shading; eyes/mouth are drawn live."""
    layer = Layer((-0.19, 0.05, 0.19, 0.47), scale_px)
    X, Y = layer.X, layer.Y
    for side in (-1.0, 1.0):
        ear = layer.ellipse((side * 0.148, 0.318), (0.024, 0.038))
        layer.paint(ear, pal.skin)
        inner = layer.ellipse((side * 0.152, 0.32), (0.011, 0.022), soft_u=0.006)
        layer.multiply(inner, pal.skin_shade, 0.8)
    face = layer.shape(FACE_OUTLINE)
    layer.multiply((1.0 - face) * layer.blur(face, 0.01), pal.skin_shade, 0.6)  # ear occlusion
    layer.paint(face, pal.skin)
    # Soft form shading: darker toward the outline, light from the upper left.
    inside = layer.blur(face, 0.02)
    layer.multiply(face * np.clip(1.0 - inside, 0, 1) * 1.6, pal.skin_shade, 0.55)
    layer.multiply(face * smoothstep(-0.02, 0.17, X), scale(pal.skin_shade, 1.05), 0.25)
    jaw = smoothstep(0.34, 0.45, Y) * smoothstep(0.03, 0.12, np.abs(X))
    layer.multiply(face * jaw, pal.skin_shade, 0.3)
    # Eye sockets and forehead light.
    for side in (-1.0, 1.0):
        sock = layer.ellipse((side * rig.EYE_X_U, rig.EYE_Y_U - 0.012), (0.05, 0.032),
                             soft_u=0.03)
        layer.multiply(sock * face, pal.skin_shade, 0.18)
        blush = layer.ellipse((side * 0.09, 0.362), (0.036, 0.019), soft_u=0.03)
        soft = 1.0 - pal.masculine
        layer.paint(blush * face, pal.blush, 0.45 * soft + 0.12 * pal.masculine)
        for k in range(3 if soft else 0):  # faint blush hatching, an illustrated-style touch
            hx = side * (0.078 + 0.012 * k)
            hatch = layer.poly(stroke([(hx + 0.004, 0.355), (hx - 0.004, 0.368)], 0.0022))
            layer.paint(hatch * face, scale(pal.blush, 0.92), 0.35)
    fore = layer.ellipse((-0.03, 0.16), (0.07, 0.045), soft_u=0.05)
    layer.paint(fore * face, mix(pal.skin, WHITE, 0.35), 0.25)
    # Nose: soft side shadow, a small tip highlight and a hint of the nostril line.
    nx, ny = rig.NOSE_U
    layer.multiply(layer.ellipse((nx + 0.007, ny - 0.012), (0.006, 0.022), soft_u=0.012) * face,
                   pal.skin_shade, 0.45)
    layer.multiply(layer.ellipse((nx + 0.002, ny + 0.004), (0.012, 0.004), soft_u=0.005) * face,
                   scale(pal.skin_shade, 0.85), 0.55)
    layer.paint(layer.ellipse((nx - 0.003, ny - 0.004), (0.004, 0.003), soft_u=0.003) * face,
                mix(pal.skin, WHITE, 0.6), 0.45)
    # Mouth area: faint philtrum and the shadow under the lower lip is drawn live.
    mx, my = rig.MOUTH_U
    layer.multiply(layer.ellipse((mx, my + 0.04), (0.03, 0.008), soft_u=0.012) * face,
                   pal.skin_shade, 0.25)
    # Shadow the front hair casts on the forehead and cheeks.
    hair = front_hair_mask(style, layer)
    cast = layer.blur(layer.shift(hair, 0.004, 0.012), 0.008)
    layer.multiply(np.clip(cast - hair, 0.0, 1.0) * face, scale(pal.skin_shade, 0.85), 0.75)
    layer.erase_inside(hair, 0.014)
    return layer


def paint_body(pal: Palette, scale_px: float, bottom_u: float) -> Layer:
    """Neck, shoulders, shirt and a blazer with lapels, down to the rect's bottom edge."""
    layer = Layer((-rig.HALF_WIDTH_U, 0.34, rig.HALF_WIDTH_U, bottom_u + 0.01), scale_px)
    X, Y = layer.X, layer.Y
    bot = bottom_u + 0.02
    # Neck.
    neck = layer.shape(mirror([(0.0, 0.345), (0.05, 0.35), (0.052, 0.45), (0.058, 0.53),
                               (0.08, 0.585), (0.08, 0.7), (0.0, 0.7)]))
    layer.paint(neck, scale(pal.skin, 0.97))
    layer.multiply(neck * smoothstep(0.025, 0.06, np.abs(X)), pal.skin_shade, 0.45)
    chin = layer.ellipse((0.0, 0.455), (0.085, 0.04), soft_u=0.04)
    layer.multiply(chin * neck, scale(pal.skin_shade, 0.8), 0.9)
    # Shirt in the V, then its collar points.
    v_open = layer.shape(mirror([(0.0, 0.56), (0.09, 0.57), (0.05, 0.74), (0.0, 0.86)]))
    layer.paint(v_open, pal.shirt)
    layer.multiply(v_open * smoothstep(0.58, 0.66, Y) * (1 - smoothstep(0.0, 0.05, np.abs(X))),
                   (0.86, 0.86, 0.9), 0.4)
    skin_v = layer.shape(mirror([(0.0, 0.56), (0.056, 0.56), (0.0, 0.672)]))
    layer.paint(skin_v, scale(pal.skin, 0.97))
    layer.multiply(skin_v * (1 - smoothstep(0.56, 0.62, Y)), pal.skin_shade, 0.4)
    for side in (-1.0, 1.0):
        collar = layer.shape([(side * 0.054, 0.548), (side * 0.096, 0.57), (side * 0.092, 0.64),
                              (side * 0.036, 0.685), (side * 0.036, 0.64)])
        layer.paint(layer.blur(collar, 0.004), (0.0, 0.0, 0.0), 0.25)
        layer.paint(collar, pal.shirt)
        layer.multiply(collar * smoothstep(0.6, 0.69, Y), (0.85, 0.85, 0.9), 0.5)
    # Blazer body with a V opening.
    outline = mirror([(0.0, 0.64), (0.062, 0.558), (0.15, 0.574), (0.245, 0.6), (0.31, 0.638),
                      (0.352, 0.7), (0.372, 0.8), (0.384, bot), (0.0, bot)])
    body = layer.shape(outline)
    opening = layer.shape(mirror([(0.0, 0.5), (0.075, 0.5), (0.075, 0.566), (0.03, 0.79),
                                  (0.0, 0.875)]))
    blazer = np.clip(body - opening, 0.0, 1.0)
    layer.paint(blazer, pal.outfit)
    cyl = 1.0 - np.cos(np.clip(X / 0.39, -1.0, 1.0) * (math.pi / 2.0))
    layer.multiply(blazer * cyl.astype(np.float32), (0.55, 0.55, 0.62), 0.9)
    layer.multiply(blazer * smoothstep(0.7, 1.1, Y), (0.7, 0.7, 0.78), 0.5)
    for side in (-1.0, 1.0):
        shine = layer.ellipse((side * 0.22, 0.615), (0.1, 0.025), soft_u=0.05)
        layer.paint(shine * blazer, mix(pal.outfit, WHITE, 0.5), 0.22)
        seam = layer.poly(stroke([(side * 0.3, 0.665), (side * 0.31, 0.8), (side * 0.315, bot)],
                                 0.004, taper=False))
        layer.multiply(layer.blur(seam, 0.002) * blazer, (0.55, 0.55, 0.6), 0.7)
        # Lapel with its notch, casting a soft shadow on the blazer.
        lapel = layer.shape([(side * 0.07, 0.56), (side * 0.118, 0.576), (side * 0.168, 0.69),
                             (side * 0.138, 0.705), (side * 0.152, 0.735), (side * 0.03, 0.87),
                             (side * 0.012, 0.88), (side * 0.03, 0.79)], closed=True)
        sh = layer.blur(layer.shift(lapel, side * 0.006, 0.008), 0.006)
        layer.multiply(np.clip(sh - lapel, 0, 1) * blazer, (0.45, 0.45, 0.5), 0.8)
        layer.paint(lapel, mix(pal.outfit, WHITE, 0.08))
        edge = np.clip(1.0 - layer.blur(lapel, 0.003) * 1.6, 0.0, 1.0)
        layer.multiply(lapel * edge, (0.6, 0.6, 0.66), 0.8)
        layer.multiply(lapel * smoothstep(0.6, 0.85, Y), (0.8, 0.8, 0.85), 0.5)
    for by in (0.93, 1.02):
        if by < bottom_u - 0.01:
            btn = layer.ellipse((0.0, by), (0.011, 0.011))
            layer.paint(layer.blur(btn, 0.003), (0.0, 0.0, 0.0), 0.3)
            layer.paint(btn, scale(pal.outfit, 0.55))
            layer.paint(layer.ellipse((-0.003, by - 0.003), (0.004, 0.004)),
                        mix(pal.outfit, WHITE, 0.4), 0.6)
    return layer
