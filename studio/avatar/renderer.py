"""The default host avatar: painted static layers on 2.5D meshes plus live SDF eyes and mouth.

Per frame this is 6 draw calls: back hair, body, face, mouth, front hair, eyes. Textures are
painted once per rect size (numpy, see textures.py), so a frame costs only texture fetches over
the host's own pixels plus two tiny procedural quads.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from studio.avatar import rig, shaders
from studio.avatar.base import NO_AUDIO_WINDOW, FrameAudio
from studio.avatar.paint import Layer
from studio.avatar.textures import (
    Palette,
    paint_back_hair,
    paint_body,
    paint_face,
    paint_front_hair,
)
from studio.core.rects import Rect, clip_rect, union_rect
from studio.face.params import FaceParams
from studio.show.model import HostLook

Box = tuple[float, float, float, float]

MAX_HEAD_RAD = 0.45  # clamp so the mesh never folds over itself
BREATH_LIFT_U = 0.007  # how far a full breath lifts the shoulders
HEAD_LAYERS = ("back", "face", "mouth", "front", "eyes")  # posed with the head
HEAD_Z_BOUND_U = 0.25  # more than any head layer's depth (ellipsoid + nose + offsets)
DAMAGE_MARGIN_PX = 3  # anti-aliased edges reach a pixel or two past the geometry


def _grid(box: Box, uv_box: Box, nx: int, ny: int, side: float = 0.0,
          uv_is_local: bool = False, keep: npt.NDArray[np.bool_] | None = None,
          ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.uint32]]:
    """A (nx+1)x(ny+1) vertex grid over ``box``; uv maps ``uv_box`` to 0..1 (or local units).

    ``keep`` (ny, nx) drops cells with nothing in them: llvmpipe pays per fragment and per
    triangle, so empty texture regions must not be rasterised at all.
    """
    x0, y0, x1, y1 = box
    xs = np.linspace(x0, x1, nx + 1, dtype=np.float32)
    ys = np.linspace(y0, y1, ny + 1, dtype=np.float32)
    gx, gy = np.meshgrid(xs, ys)
    u0, v0, u1, v1 = uv_box
    if uv_is_local:
        uu, vv = gx - u0, gy - v0
    else:
        uu, vv = (gx - u0) / (u1 - u0), (gy - v0) / (v1 - v0)
    verts = np.zeros((gx.size, 5), dtype=np.float32)
    verts[:, 0], verts[:, 1] = gx.ravel(), gy.ravel()
    verts[:, 2], verts[:, 3] = uu.ravel(), vv.ravel()
    verts[:, 4] = side
    i = np.arange(ny)[:, None] * (nx + 1) + np.arange(nx)[None, :]
    if keep is not None:
        i = i[keep]
    i = i.ravel()
    quads = np.stack([i, i + 1, i + nx + 1, i + 1, i + nx + 2, i + nx + 1], axis=1)
    return verts, quads.ravel().astype(np.uint32)


def _occupied(alpha: npt.NDArray[np.uint8], layer_box: Box, box: Box, nx: int, ny: int,
              ) -> npt.NDArray[np.bool_]:
    """Which cells of an nx x ny grid over ``box`` hold any visible texel (with a margin)."""
    lx0, ly0, lx1, ly1 = layer_box
    h, w = alpha.shape
    keep = np.zeros((ny, nx), dtype=bool)
    xs = np.linspace(box[0], box[2], nx + 1)
    ys = np.linspace(box[1], box[3], ny + 1)
    cols = np.clip(((xs - lx0) / (lx1 - lx0) * w).astype(int), 0, w)
    rows = np.clip(((ys - ly0) / (ly1 - ly0) * h).astype(int), 0, h)
    for r in range(ny):
        r0, r1 = max(rows[r] - 2, 0), min(rows[r + 1] + 2, h)
        band = alpha[r0:r1]
        if band.size == 0:
            continue
        colmax = band.max(axis=0)
        for c in range(nx):
            c0, c1 = max(cols[c] - 2, 0), min(cols[c + 1] + 2, w)
            keep[r, c] = c1 > c0 and bool(colmax[c0:c1].max() > 0)
    return keep


@dataclass(frozen=True, slots=True)
class _MouthShape:
    """Uniforms for the mouth shader, derived from the face parameters (design units)."""

    m0: tuple[float, float, float, float]
    m1: tuple[float, float, float, float]
    m2: tuple[float, float, float, float]
    m3: tuple[float, float, float, float]
    jaw_drop_u: float


def _unit(v: float) -> float:
    return min(max(float(v), 0.0), 1.0)


def _head(v: float) -> float:
    return max(-MAX_HEAD_RAD, min(MAX_HEAD_RAD, float(v)))


def mouth_shape(fp: FaceParams) -> _MouthShape:
    """Map visemes to lip geometry: press seals, pucker narrows/rounds, stretch/smile widen."""
    c = _unit
    jaw, pk, press = c(fp.jaw_open), c(fp.lip_pucker), c(fp.lip_press)
    st, sm, tongue = c(fp.lip_stretch), c(fp.smile), c(fp.tongue_up)
    o = max(0.0, jaw * (1.0 - press) - 0.08 * press)
    w = 0.037 * (1 + 0.3 * st + 0.22 * sm) * (1 - 0.42 * pk) * (1 + 0.06 * press) * (1 - 0.1 * o)
    wi = w * (0.9 - 0.12 * pk)
    h = 0.056 * o * (1 - 0.2 * st)
    h_up, h_lo = h * 0.36, h * 0.64
    ex = max(0.28, 0.62 - 0.15 * pk - 0.3 * st * (1 - pk) - 0.1 * sm)
    tu = 0.0082 * (1 + 0.55 * pk) * (1 - 0.55 * press) * (1 - 0.2 * st)
    tl = 0.0105 * (1 + 0.45 * pk) * (1 - 0.5 * press) * (1 - 0.2 * st)
    teeth = min(0.0105, h_up + h_lo * 0.5) * (1 - 0.5 * pk)
    tongue_r = max(0.0035, 0.34 * h)
    tongue_y = h_lo + tongue_r * 0.35 - tongue * h * 0.75
    seam = 0.85 * (1.0 - min(o / 0.05, 1.0))
    return _MouthShape(m0=(w, wi, h_up, h_lo), m1=(tu, tl, ex, 0.011 * sm + 0.002 * st),
                       m2=(teeth, tongue_y, tongue_r, seam), m3=(o, pk, press, 0.0),
                       jaw_drop_u=rig.JAW_DROP_U * o)


class _Mesh:
    """A gloo program bound to one grid mesh (and a texture for painted layers)."""

    def __init__(self, frag: str, verts: npt.NDArray[np.float32],
                 idx: npt.NDArray[np.uint32], tex: npt.NDArray[np.uint8] | None,
                 interpolation: str = "linear") -> None:
        from vispy import gloo

        self.program: Any = gloo.Program(shaders.VERTEX, frag)
        used = verts[np.unique(idx)] if len(idx) else verts
        self.extent_u: Box = (float(used[:, 0].min()), float(used[:, 1].min()),
                              float(used[:, 0].max()), float(used[:, 1].max()))
        buf = np.zeros(len(verts), dtype=[("a_pos", np.float32, 2), ("a_uv", np.float32, 2),
                                          ("a_side", np.float32)])
        buf["a_pos"], buf["a_uv"], buf["a_side"] = verts[:, :2], verts[:, 2:4], verts[:, 4]
        self.program.bind(gloo.VertexBuffer(buf))
        self.index: Any = gloo.IndexBuffer(idx)
        self.texture: Any = None
        self._uniforms: dict[str, Any] = {}
        if tex is not None:
            self.texture = gloo.Texture2D(tex, interpolation=interpolation,
                                          wrapping="clamp_to_edge")
            self.program["u_tex"] = self.texture

    def set(self, name: str, value: Any) -> None:
        """Set a uniform only when it changed: gloo queues every set, and Python time counts."""
        if self._uniforms.get(name) != value:
            self._uniforms[name] = value
            self.program[name] = value

    def draw(self) -> None:
        self.program.draw("triangles", self.index)


class AvatarRenderer:
    """Draws the host bust for a ``HostLook``; see module docstring for the layer order."""

    audio_window_s = NO_AUDIO_WINDOW  # the face parameters drive it, not the sound

    def __init__(self, look: HostLook) -> None:
        self.look = look
        self.palette = Palette.from_look(look)
        self._size: tuple[int, int] | None = None
        self._layers: list[tuple[str, _Mesh]] = []
        self._head_box_u: Box = (0.0, 0.0, 0.0, 0.0)
        # What the framebuffer holds from the last draw: the body's lift and the head's box.
        self._drawn_body_lift_px: int | None = None
        self._drawn_head_px: Rect | None = None

    # --- public API ------------------------------------------------------------------------
    def mouth_rect_px(self, rect_px: Rect) -> Rect:
        """Mouth region (x, y, w, h; y from the top) at neutral pose for this host rect."""
        return rig.mouth_rect_px(rect_px)

    def damage_rect_px(self, params: FaceParams, rect_px: Rect) -> Rect:
        """The part of ``rect_px`` that drawing ``params`` changes since the last draw.

        The body moves only in whole-pixel breath steps, so between steps only the head's
        box (where it was and where it goes) needs redrawing: much less work for llvmpipe.
        """
        if (int(rect_px[2]), int(rect_px[3])) != self._size or self._drawn_head_px is None:
            return rect_px
        place = rig.Placement.for_rect(rect_px)
        if self._body_lift_px(params, place) != self._drawn_body_lift_px:
            return rect_px
        return clip_rect(union_rect(self._head_px(params, place), self._drawn_head_px), rect_px)

    @staticmethod
    def _body_lift_px(params: FaceParams, place: rig.Placement) -> int:
        return round(BREATH_LIFT_U * min(max(float(params.breath), 0.0), 1.0) * place.scale_px)

    def _head_px(self, params: FaceParams, place: rig.Placement) -> Rect:
        """A box sure to contain every head layer for this pose (the vertex shader's warp,
        bounded generously: any depth up to ``HEAD_Z_BOUND_U``, then the roll, then the lift)."""
        yaw, pitch, roll = (_head(params.head_yaw_rad), _head(params.head_pitch_rad),
                            _head(params.head_roll_rad))
        x0, y0, x1, y1 = self._head_box_u
        y1 += rig.JAW_DROP_U
        cx, cy = rig.HEAD_DEPTH_C_U
        cos_y, cos_p = math.cos(yaw), math.cos(pitch)
        ex, ey = HEAD_Z_BOUND_U * abs(math.sin(yaw)), HEAD_Z_BOUND_U * abs(math.sin(pitch))
        xs = [cx + (x - cx) * k for x in (x0, x1) for k in (1.0, cos_y)]
        ys = [cy + (y - cy) * k for y in (y0, y1) for k in (1.0, cos_p)]
        bx0, bx1 = min(xs) - ex, max(xs) + ex
        by0, by1 = min(ys) - ey, max(ys) + ey
        px_, py_ = rig.ROLL_PIVOT_U
        cr, sr = math.cos(roll), math.sin(roll)
        corners = [(px_ + (x - px_) * cr - (y - py_) * sr, py_ + (x - px_) * sr + (y - py_) * cr)
                   for x in (bx0, bx1) for y in (by0, by1)]
        lift = BREATH_LIFT_U * 0.6 * min(max(float(params.breath), 0.0), 1.0)
        left, top = place.to_px(min(c[0] for c in corners), min(c[1] for c in corners) - lift)
        right, bottom = place.to_px(max(c[0] for c in corners), max(c[1] for c in corners))
        m = DAMAGE_MARGIN_PX
        x, y = math.floor(left) - m, math.floor(top) - m
        return (x, y, math.ceil(right) + m - x, math.ceil(bottom) + m - y)

    def draw(self, params: FaceParams, rect_px: Rect, frame_size_px: tuple[int, int],
             audio: FrameAudio | None = None) -> None:
        """Draw the host over the bound framebuffer; premultiplied blending, state restored. The
        program's sound (``audio``) is not used: the face parameters drive it."""
        from vispy import gloo
        from vispy.gloo import gl

        size = (int(rect_px[2]), int(rect_px[3]))
        if size != self._size:
            self._build(rect_px)
            self._size = size
        place = rig.Placement.for_rect(rect_px)
        mouth = mouth_shape(params)
        pose = (_head(params.head_yaw_rad), _head(params.head_pitch_rad),
                _head(params.head_roll_rad))
        breath_u = BREATH_LIFT_U * min(max(float(params.breath), 0.0), 1.0)
        body_lift_px = self._body_lift_px(params, place)
        self._drawn_body_lift_px = body_lift_px
        self._drawn_head_px = self._head_px(params, place)
        aa_u = 1.0 / place.scale_px
        common = {
            "u_place": (place.center_x_px, place.top_y_px, place.scale_px),
            "u_frame": (float(frame_size_px[0]), float(frame_size_px[1])),
            "u_ellip": (*rig.HEAD_DEPTH_C_U, *rig.HEAD_DEPTH_R_U),
            "u_pivot": rig.ROLL_PIVOT_U,
            "u_jawramp": rig.JAW_RAMP_U,
        }
        nose = (*rig.NOSE_U, rig.NOSE_BUMP_U[0], rig.NOSE_BUMP_U[1])
        no_nose = (0.0, 0.0, 1.0, 0.0)
        d = rig.HEAD_DEPTH_U
        head_lift = (breath_u * 0.6, 10.0, 11.0)
        per_layer: dict[str, dict[str, Any]] = {
            "back": {"u_pose": pose, "u_depth": (0.0, 0.0, -0.06, 0.0), "u_nose": no_nose,
                     "u_lift": head_lift},
            "body": {"u_pose": (0.0, 0.0, 0.0), "u_depth": (0.0, 0.0, 0.0, 0.0),
                     "u_nose": no_nose,
                     "u_lift": (body_lift_px / place.scale_px, 0.62, place.bottom_u)},
            "face": {"u_pose": pose, "u_depth": (d, -0.45, 0.0, mouth.jaw_drop_u),
                     "u_nose": nose, "u_lift": head_lift},
            "mouth": {"u_pose": pose, "u_depth": (d, -0.45, 0.002, 0.0), "u_nose": no_nose,
                      "u_lift": head_lift, "u_aa": aa_u, "u_m0": mouth.m0, "u_m1": mouth.m1,
                      "u_m2": mouth.m2, "u_m3": mouth.m3},
            "front": {"u_pose": pose, "u_depth": (d, 0.0, 0.014, 0.0), "u_nose": no_nose,
                      "u_lift": head_lift},
            "eyes": {"u_pose": pose, "u_depth": (d, -0.45, 0.003, 0.0), "u_nose": no_nose,
                     "u_lift": head_lift, "u_aa": aa_u,
                     "u_blink": (float(params.blink_left), float(params.blink_right)),
                     "u_gaze": (max(-1.0, min(1.0, float(params.gaze_x))),
                                max(-1.0, min(1.0, float(params.gaze_y)))),
                     "u_brow": min(max(float(params.brow_raise), 0.0), 1.0)},
        }
        self._context().flush_commands()
        had_depth = bool(gl.glIsEnabled(gl.GL_DEPTH_TEST))
        had_cull = bool(gl.glIsEnabled(gl.GL_CULL_FACE))
        gloo.set_state(blend=True, depth_test=False, cull_face=False)
        gloo.set_blend_func("one", "one_minus_src_alpha", "one", "one_minus_src_alpha")
        for name, mesh in self._layers:
            for k, v in common.items():
                mesh.set(k, v)
            for k, v in per_layer[name].items():
                mesh.set(k, v)
            mesh.draw()
        gloo.set_blend_func("src_alpha", "one_minus_src_alpha", "one", "one_minus_src_alpha")
        if had_depth:
            gloo.set_state(depth_test=True)
        if had_cull:
            gloo.set_state(cull_face=True)

    # --- internals -------------------------------------------------------------------------
    @staticmethod
    def _context() -> Any:
        from vispy.gloo import get_current_canvas

        return get_current_canvas().context

    def _build(self, rect_px: Rect) -> None:
        """(Re)paint textures and meshes for a new rect size; cheap enough to do at startup."""
        place = rig.Placement.for_rect(rect_px)
        s = place.scale_px
        pal = self.palette
        style = self.look.hair_style
        back = paint_back_hair(style, pal, s)
        body = paint_body(pal, s, place.bottom_u)
        face = paint_face(style, pal, s)
        front = paint_front_hair(style, pal, s)

        def textured(layer: Layer, cell_u: float, interpolation: str = "linear") -> _Mesh:
            """Mesh over the layer, clipped to the rect, with empty cells dropped."""
            lb = layer.box_u
            box = (max(lb[0], bounds[0]), max(lb[1], bounds[1]),
                   min(lb[2], bounds[2]), min(lb[3], bounds[3]))
            nx = max(1, round((box[2] - box[0]) / cell_u))
            ny = max(1, round((box[3] - box[1]) / cell_u))
            rgba = layer.rgba_u8()
            keep = _occupied(rgba[..., 3], lb, box, nx, ny)
            verts, idx = _grid(box, lb, nx, ny, keep=keep)
            return _Mesh(shaders.TEXTURED, verts, idx, rgba, interpolation)

        bounds = (-rig.HALF_WIDTH_U, 0.0, rig.HALF_WIDTH_U, place.bottom_u)
        ex0, ey0, ex1, ey1 = rig.EYE_QUAD_U
        eye_parts = []
        for side in (-1.0, 1.0):
            cx = side * rig.EYE_X_U
            lx0, lx1 = (ex0, ex1) if side > 0 else (-ex1, -ex0)
            eye_parts.append(_grid((cx + lx0, rig.EYE_Y_U + ey0, cx + lx1, rig.EYE_Y_U + ey1),
                                   (cx, rig.EYE_Y_U, 0.0, 0.0), 3, 3, side, uv_is_local=True))
        ev = np.concatenate([eye_parts[0][0], eye_parts[1][0]])
        ei = np.concatenate([eye_parts[0][1], eye_parts[1][1] + len(eye_parts[0][0])])
        mx0, my0, mx1, my1 = rig.MOUTH_QUAD_U
        mx, my = rig.MOUTH_U
        mv, mi = _grid((mx + mx0, my + my0, mx + mx1, my + my1), (mx, my, 0.0, 0.0), 3, 3,
                       uv_is_local=True)
        self._layers = [
            ("back", textured(back, 0.06)),
            ("body", textured(body, 0.08, "nearest")),
            ("face", textured(face, 0.032)),
            ("mouth", _Mesh(shaders.MOUTH, mv, mi, None)),
            ("front", textured(front, 0.05)),
            ("eyes", _Mesh(shaders.EYES, ev, ei, None)),
        ]
        head = [mesh.extent_u for name, mesh in self._layers if name in HEAD_LAYERS]
        self._head_box_u = (min(b[0] for b in head), min(b[1] for b in head),
                            max(b[2] for b in head), max(b[3] for b in head))
        self._drawn_head_px = None
        fixed: dict[str, dict[str, object]] = {
            "eyes": {"u_iris": pal.eye, "u_lash": pal.lash, "u_browc": pal.brow,
                     "u_masc": pal.masculine,
                     "u_skin": pal.skin},
            "mouth": {"u_lip": pal.lip, "u_skin": pal.skin},
        }
        for name, mesh in self._layers:
            for k, v in fixed.get(name, {}).items():
                mesh.set(k, v)
