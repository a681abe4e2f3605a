"""A tiny numpy/PIL painter for the static layers: anti-aliased shapes composited premultiplied.

Shapes are rasterised with PIL at 4x supersampling inside their own bounding box (fast, C code),
then box-filtered down, so every edge is anti-aliased without per-frame cost.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw
from scipy import ndimage

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
Color = tuple[float, float, float]

_SS = 4  # supersampling factor per axis


def hex_rgb(value: str) -> Color:
    """'#rrggbb' -> floats 0..1."""
    v = value.lstrip("#")
    return int(v[0:2], 16) / 255.0, int(v[2:4], 16) / 255.0, int(v[4:6], 16) / 255.0


def scale(c: Color, k: float) -> Color:
    return min(c[0] * k, 1.0), min(c[1] * k, 1.0), min(c[2] * k, 1.0)


def mix(a: Color, b: Color, t: float) -> Color:
    return a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t


def smoothstep(e0: float, e1: float, x: F32 | float) -> F32:
    t = np.clip((np.asarray(x, dtype=np.float32) - e0) / (e1 - e0), 0.0, 1.0)
    out: F32 = (t * t * (3.0 - 2.0 * t)).astype(np.float32)
    return out


def spline(points: list[tuple[float, float]], closed: bool = True, per_seg: int = 12) -> F64:
    """Catmull-Rom curve through ``points``: authoring shapes as a few points, drawn smooth."""
    p = np.asarray(points, dtype=np.float64)
    n = len(p)
    out: list[F64] = []
    segs = n if closed else n - 1
    t = np.linspace(0.0, 1.0, per_seg, endpoint=False)[:, None]
    for i in range(segs):
        p0 = p[(i - 1) % n] if closed or i > 0 else p[0]
        p1 = p[i % n]
        p2 = p[(i + 1) % n]
        p3 = p[(i + 2) % n] if closed or i + 2 < n else p[-1]
        out.append(0.5 * ((2 * p1) + (-p0 + p2) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t ** 2
                          + (-p0 + 3 * p1 - 3 * p2 + p3) * t ** 3))
    if not closed:
        out.append(p[-1:])
    return np.concatenate(out)


def mirror(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Right half (top to bottom) -> whole closed outline, symmetric about x = 0."""
    left = [(-x, y) for x, y in reversed(points) if abs(x) > 1e-9]
    return points + left


class Layer:
    """An RGBA premultiplied canvas covering a design-space box at ``scale_px`` px per unit."""

    def __init__(self, box_u: tuple[float, float, float, float], scale_px: float) -> None:
        x0, y0, x1, y1 = box_u
        self.scale_px = scale_px
        self.w_px = max(2, math.ceil((x1 - x0) * scale_px))
        self.h_px = max(2, math.ceil((y1 - y0) * scale_px))
        self.x0_u, self.y0_u = x0, y0
        self.x1_u = x0 + self.w_px / scale_px
        self.y1_u = y0 + self.h_px / scale_px
        xs = (x0 + (np.arange(self.w_px, dtype=np.float32) + 0.5) / scale_px).astype(np.float32)
        ys = (y0 + (np.arange(self.h_px, dtype=np.float32) + 0.5) / scale_px).astype(np.float32)
        self.X: F32 = np.broadcast_to(xs[None, :], (self.h_px, self.w_px))
        self.Y: F32 = np.broadcast_to(ys[:, None], (self.h_px, self.w_px))
        self.rgb = np.zeros((self.h_px, self.w_px, 3), dtype=np.float32)
        self.a = np.zeros((self.h_px, self.w_px), dtype=np.float32)

    @property
    def box_u(self) -> tuple[float, float, float, float]:
        return self.x0_u, self.y0_u, self.x1_u, self.y1_u

    # --- coverage masks -------------------------------------------------------------------
    def poly(self, pts_u: F64) -> F32:
        """Anti-aliased coverage (0..1) of a polygon given in design units."""
        px = (np.asarray(pts_u, dtype=np.float64) - (self.x0_u, self.y0_u)) * self.scale_px
        out = np.zeros((self.h_px, self.w_px), dtype=np.float32)
        lo = np.floor(px.min(axis=0)).astype(int) - 1
        hi = np.ceil(px.max(axis=0)).astype(int) + 1
        bx0, by0 = max(lo[0], 0), max(lo[1], 0)
        bx1, by1 = min(hi[0], self.w_px), min(hi[1], self.h_px)
        if bx1 <= bx0 or by1 <= by0:
            return out
        img = Image.new("L", ((bx1 - bx0) * _SS, (by1 - by0) * _SS), 0)
        local = (px - (bx0, by0)) * _SS
        ImageDraw.Draw(img).polygon([(float(x), float(y)) for x, y in local], fill=255)
        small = img.reduce(_SS)
        out[by0:by1, bx0:bx1] = np.asarray(small, dtype=np.float32) / 255.0
        return out

    def shape(self, points: list[tuple[float, float]], closed: bool = True) -> F32:
        return self.poly(spline(points, closed))

    def ellipse(self, c_u: tuple[float, float], r_u: tuple[float, float],
                soft_u: float = 0.0) -> F32:
        """Coverage of an ellipse; ``soft_u`` widens the edge for airbrushed shapes."""
        d = np.sqrt(((self.X - c_u[0]) / r_u[0]) ** 2 + ((self.Y - c_u[1]) / r_u[1]) ** 2)
        d_u = (d - 1.0) * min(r_u)
        edge = max(soft_u, 1.0 / self.scale_px)
        return np.clip(0.5 - d_u / edge, 0.0, 1.0).astype(np.float32)

    def blur(self, mask: F32, sigma_u: float) -> F32:
        out: F32 = ndimage.gaussian_filter(mask, sigma_u * self.scale_px).astype(np.float32)
        return out

    def shift(self, mask: F32, dx_u: float, dy_u: float) -> F32:
        out: F32 = ndimage.shift(mask, (dy_u * self.scale_px, dx_u * self.scale_px), order=1,
                                 mode="constant", cval=0.0).astype(np.float32)
        return out

    # --- painting ------------------------------------------------------------------------
    def paint(self, cov: F32, color: Color | F32, alpha: float | F32 = 1.0) -> None:
        """Composite ``color`` over the canvas where ``cov`` (times alpha) says."""
        a = (cov * alpha).astype(np.float32)
        col = np.asarray(color, dtype=np.float32)
        self.rgb *= (1.0 - a)[..., None]
        self.rgb += col * a[..., None]
        self.a = a + self.a * (1.0 - a)

    def tint(self, cov: F32, color: Color, alpha: float | F32 = 1.0) -> None:
        """Paint only onto what is already there (shading that must not spill outside)."""
        a = (cov * alpha).astype(np.float32)[..., None]
        col = np.asarray(color, dtype=np.float32)
        self.rgb = self.rgb * (1.0 - a) + col * (self.a[..., None] * a)

    def multiply(self, cov: F32, factor: Color, alpha: float | F32 = 1.0) -> None:
        """Darken/tint what is there (premultiplied, so alpha is unchanged)."""
        a = (cov * alpha).astype(np.float32)[..., None]
        f = np.asarray(factor, dtype=np.float32)
        self.rgb = self.rgb * (1.0 - a + a * f)

    def erase_inside(self, mask: F32, margin_u: float) -> None:
        """Clear texels deep inside ``mask`` (covered by a layer drawn on top): they would cost
        fill rate every frame and never show. ``margin_u`` allows for parallax between layers."""
        depth_px = ndimage.distance_transform_edt(mask > 0.5)
        keep = (depth_px <= margin_u * self.scale_px).astype(np.float32)
        self.rgb *= keep[..., None]
        self.a *= keep

    def rgba_u8(self) -> npt.NDArray[np.uint8]:
        out = np.empty((self.h_px, self.w_px, 4), dtype=np.float32)
        out[..., :3] = np.minimum(self.rgb, self.a[..., None])
        out[..., 3] = self.a
        rgba: npt.NDArray[np.uint8] = np.clip(out * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return rgba
