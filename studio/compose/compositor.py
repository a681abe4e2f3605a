"""The program picture, composed on the GPU: background, host, camera, product card, AI label.

Every layer is a texture or a draw call into one offscreen framebuffer; a last pass turns the
picture into the encoder's YUV 4:2:0 bytes on the GPU, so the CPU only copies 1.5 bytes a pixel.
The camera (a human on air) covers the host, fitted to the frame; the card stays above it. The
AI-generated label is always the last layer drawn, in every frame that shows any of the avatar
or carries a synthetic voice: the program switcher decides, the compositor only obeys.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from studio.avatar.base import Avatar, FrameAudio
from studio.compose.background import render_background
from studio.compose.gl import OffscreenGL
from studio.compose.label import render_ai_label
from studio.core.media import RGBImage
from studio.core.rects import Rect, union_rect
from studio.face.params import FaceParams
from studio.show.model import Stage

MAX_PENDING_YUV_RECTS = 16

_QUAD_VERT = """
attribute vec2 a_corner;          // (0,0) top-left .. (1,1) bottom-right
uniform vec4 u_rect;              // x, y (from top), w, h in pixels
uniform vec2 u_frame;             // frame size in pixels
varying vec2 v_uv;
void main() {
    vec2 px = u_rect.xy + a_corner * u_rect.zw;
    vec2 ndc = vec2(px.x / u_frame.x * 2.0 - 1.0, 1.0 - px.y / u_frame.y * 2.0);
    gl_Position = vec4(ndc, 0.0, 1.0);
    v_uv = a_corner;
}
"""
_QUAD_FRAG = """
uniform sampler2D u_tex;
uniform float u_alpha;
uniform vec4 u_uv;                // the part of the texture shown: u0, v0, u size, v size
varying vec2 v_uv;
void main() {
    vec4 c = texture2D(u_tex, u_uv.xy + v_uv * u_uv.zw);
    gl_FragColor = vec4(c.rgb, c.a * u_alpha);
}
"""
_ALL_UV = (0.0, 0.0, 1.0, 1.0)
# Pack the picture as yuv420p bytes (BT.709, limited range), four bytes per RGBA texel:
# one pass writes the Y plane, a second (run for U, then V) the quarter-size chroma planes.
_Y_FRAG = """
uniform sampler2D u_scene;
uniform vec2 u_size;              // picture width, height in pixels
void main() {
    float row = floor(gl_FragCoord.y);
    float x0 = floor(gl_FragCoord.x) * 4.0;
    float v = 1.0 - (row + 0.5) / u_size.y;
    vec3 k = vec3(0.2126, 0.7152, 0.0722) * (219.0 / 255.0);
    float o = 16.0 / 255.0;
    gl_FragColor = vec4(
        o + dot(texture2D(u_scene, vec2((x0 + 0.5) / u_size.x, v)).rgb, k),
        o + dot(texture2D(u_scene, vec2((x0 + 1.5) / u_size.x, v)).rgb, k),
        o + dot(texture2D(u_scene, vec2((x0 + 2.5) / u_size.x, v)).rgb, k),
        o + dot(texture2D(u_scene, vec2((x0 + 3.5) / u_size.x, v)).rgb, k));
}
"""
_C_FRAG = """
uniform sampler2D u_scene;
uniform vec2 u_size;
uniform vec3 u_coeffs;            // U or V weights
uniform float u_first_row;        // the plane's first row in the packed image
void main() {
    float k = (floor(gl_FragCoord.y) - u_first_row) * u_size.x + floor(gl_FragCoord.x) * 4.0;
    float half_w = u_size.x / 2.0;
    float crow = floor(k / half_w);
    float ccol = k - crow * half_w;
    // Sampling at the centre of each 2x2 block: linear filtering averages its four pixels.
    float v = 1.0 - (crow * 2.0 + 1.0) / u_size.y;
    vec3 c = u_coeffs * (224.0 / 255.0);
    float o = 128.0 / 255.0;
    gl_FragColor = vec4(
        o + dot(texture2D(u_scene, vec2((ccol * 2.0 + 1.0) / u_size.x, v)).rgb, c),
        o + dot(texture2D(u_scene, vec2((ccol * 2.0 + 3.0) / u_size.x, v)).rgb, c),
        o + dot(texture2D(u_scene, vec2((ccol * 2.0 + 5.0) / u_size.x, v)).rgb, c),
        o + dot(texture2D(u_scene, vec2((ccol * 2.0 + 7.0) / u_size.x, v)).rgb, c));
}
"""
_FULL_VERT = """
attribute vec2 a_corner;
varying vec2 v_uv;
void main() {
    gl_Position = vec4(a_corner * 2.0 - 1.0, 0.0, 1.0);
    v_uv = a_corner;
}
"""


@dataclass(frozen=True, slots=True)
class StageLayout:
    """Where the host and the product card go in a frame of this size."""

    width_px: int
    height_px: int
    host_rect_px: Rect
    card_rect_px: Rect

    @staticmethod
    def for_frame(width_px: int, height_px: int, host_position: str = "left") -> StageLayout:
        w, h = width_px, height_px
        if h > w:  # portrait (phone-first platforms): host above, card at the bottom
            host_w = round(w * 0.9)
            host = (round((w - host_w) / 2), round(h * 0.12), host_w, h - round(h * 0.12))
            card_w, card_h = round(w * 0.86), round(h * 0.3)
            card = (round((w - card_w) / 2), h - card_h - round(h * 0.04), card_w, card_h)
            return StageLayout(w, h, host, card)
        card_w, card_h = round(w * 0.3), round(h * 0.8)
        card = (w - card_w - round(w * 0.035), round(h * 0.12), card_w, card_h)
        host_w, host_top = round(w * 0.5), round(h * 0.15)  # below the AI label
        host_x = {"left": round(w * 0.06), "center": round((w - host_w) / 2 - w * 0.08),
                  "right": round(w * 0.06)}[host_position]
        return StageLayout(w, h, (host_x, host_top, host_w, h - host_top), card)


class Compositor:
    """Owns the GL context; ``compose`` draws one frame, ``read_*`` fetch it."""

    def __init__(self, width_px: int, height_px: int, stage: Stage,
                 avatar: Callable[[], Avatar] | None, *, base_dir: Path | None = None) -> None:
        """``avatar`` makes the host to draw (called once, with this compositor's GL context
        current: see :func:`studio.avatar.base.build_avatar`); None draws no host."""
        from vispy import gloo

        self.width_px = width_px
        self.height_px = height_px
        self.layout = StageLayout.for_frame(width_px, height_px, stage.host_position)
        self.gl = OffscreenGL(width_px, height_px)
        self._gloo: Any = gloo
        corners = np.array([[0, 0], [1, 0], [0, 1], [1, 1]], np.float32)
        self._quad: Any = gloo.Program(_QUAD_VERT, _QUAD_FRAG)
        self._quad["a_corner"] = corners
        self._quad["u_frame"] = (float(width_px), float(height_px))
        self._background = self._texture(render_background(stage.background, width_px,
                                                           height_px, base_dir))
        label, (lx, ly) = render_ai_label(width_px, height_px)
        self._label = self._texture(label)
        self._label_rect: Rect = (lx, ly, int(label.shape[1]), int(label.shape[0]))
        self._card: Any = None
        self._card_key: object = None
        # One texture per product, uploaded once: a looping show re-uploading cards every
        # round leaked GPU memory (vispy frees textures only when collected).
        self._card_textures: dict[object, Any] = {}
        self._camera: Any = None
        self._camera_shape: tuple[int, int] | None = None
        self._camera_uv = _ALL_UV
        self._last_overlay: tuple[float, bool] = (0.0, True)
        self._avatar: Avatar | None = None
        if avatar is not None:
            self.gl.make_current()
            self._avatar = avatar()
        self._full_redraw = True
        self._last_card_state: tuple[object, float, int] | None = None
        self._last_card_rect: Rect | None = None
        self._damage: list[Rect] = []
        self._yuv_damage: list[Rect] = []  # drawn but not yet converted to YUV
        self._yuv_ready = width_px % 8 == 0 and height_px % 4 == 0
        if self._yuv_ready:
            packed_w, packed_h = width_px // 4, height_px * 3 // 2
            self._yuv_tex = gloo.Texture2D(shape=(packed_h, packed_w, 4))
            self._yuv_fbo: Any = gloo.FrameBuffer(color=self._yuv_tex)
            self._y_pass: Any = gloo.Program(_FULL_VERT, _Y_FRAG)
            self._c_pass: Any = gloo.Program(_FULL_VERT, _C_FRAG)
            for program in (self._y_pass, self._c_pass):
                program["a_corner"] = corners
                program["u_scene"] = self.gl.color_texture
                program["u_size"] = (float(width_px), float(height_px))
            self._packed_size = (packed_w, packed_h)

    @property
    def avatar(self) -> Avatar | None:
        """The host it draws (None: none)."""
        return self._avatar

    def _texture(self, rgba: npt.NDArray[np.uint8]) -> Any:
        self.gl.make_current()
        # Layers are drawn pixel for pixel, so nearest sampling is exact (and much cheaper).
        return self._gloo.Texture2D(np.ascontiguousarray(rgba), interpolation="nearest")

    def set_card(self, key: object, rgba: npt.NDArray[np.uint8] | None) -> None:
        """Show this product card (uploaded once per key, kept for when it comes back);
        ``None`` hides the card."""
        if key == self._card_key:
            return
        self._card_key = key
        if rgba is None:
            self._card = None
            return
        texture = self._card_textures.get(key)
        if texture is None:
            texture = self._card_textures[key] = self._texture(rgba)
        self._card = texture

    def set_camera(self, rgb: npt.NDArray[np.uint8]) -> None:
        """The camera picture (RGB or RGBA, any size) for the next ``compose``: cover-fitted to
        the frame (centred, cropped to the frame's aspect), one texture reused while the size
        stays the same."""
        h, w = int(rgb.shape[0]), int(rgb.shape[1])
        data = np.ascontiguousarray(rgb)
        self.gl.make_current()
        if self._camera is None or self._camera_shape != (h, w) or \
                self._camera.shape[2] != data.shape[2]:
            if self._camera is not None:
                self._camera.delete()
            self._camera = self._gloo.Texture2D(data, interpolation="linear")
            self._camera_shape = (h, w)
            frame_aspect = self.width_px / self.height_px
            aspect = w / h
            if aspect > frame_aspect:  # wider than the frame: crop the sides
                uw = frame_aspect / aspect
                self._camera_uv = ((1.0 - uw) / 2, 0.0, uw, 1.0)
            else:
                vh = aspect / frame_aspect
                self._camera_uv = (0.0, (1.0 - vh) / 2, 1.0, vh)
        else:
            self._camera.set_data(data)

    def forget_card(self, key: object) -> None:
        """Drop a card's texture (its product was edited); the next ``set_card`` uploads."""
        texture = self._card_textures.pop(key, None)
        if key == self._card_key:
            self._card_key = None
            self._card = None
        if texture is not None:
            texture.delete()

    def _draw_texture(self, texture: Any, rect: Rect, alpha: float = 1.0,
                      uv: tuple[float, float, float, float] = _ALL_UV) -> None:
        self._quad["u_tex"] = texture
        self._quad["u_rect"] = tuple(float(v) for v in rect)
        self._quad["u_alpha"] = float(alpha)
        self._quad["u_uv"] = uv
        self._quad.draw("triangle_strip")

    def _full_rect(self) -> Rect:
        return (0, 0, self.width_px, self.height_px)

    def _aligned(self, rect: Rect) -> Rect:
        """Grow a rect to 8-px columns and 4-px rows (whole YUV texels), clipped to the frame."""
        x, y, w, h = rect
        x0, y0 = max(0, (x // 8) * 8), max(0, (y // 4) * 4)
        x1 = min(self.width_px, -(-(x + w) // 8) * 8)
        y1 = min(self.height_px, -(-(y + h) // 4) * 4)
        return (x0, y0, max(0, x1 - x0), max(0, y1 - y0))

    def _scissor(self, rect: Rect) -> None:
        x, y, w, h = rect
        self._gloo.set_scissor(x, self.height_px - y - h, w, h)

    def compose(self, params: FaceParams, card_alpha: float = 1.0,
                card_offset_px: int = 0, *, camera_alpha: float = 0.0,
                label: bool = True, audio: FrameAudio | None = None) -> None:
        """Draw one frame into the framebuffer (read it with ``read_yuv420p``/``read_rgba``).
        ``audio``: the program's sound around the frame, for an avatar that hears it.

        Only what changed is redrawn: the host's rect every frame, the card while it moves;
        the background and label stay in the framebuffer from the frame before. While the
        camera shows (``camera_alpha`` > 0, after ``set_camera``) every frame is redrawn.
        """
        gloo = self._gloo
        if self._camera is None:
            camera_alpha = 0.0
        camera_alpha = min(max(camera_alpha, 0.0), 1.0)
        overlay = (camera_alpha, label)
        if camera_alpha > 0.0 or overlay != self._last_overlay:
            self._full_redraw = True
        self._last_overlay = overlay
        card_state = (self._card_key, round(card_alpha, 3), card_offset_px)
        x, y, w, h = self.layout.card_rect_px
        card_rect = (min(x, x + card_offset_px), y, w + abs(card_offset_px), h)
        damage: list[Rect] = []
        if self._full_redraw:
            damage.append(self._full_rect())
        else:
            if self._avatar is not None:
                damage.append(self._avatar.damage_rect_px(params, self.layout.host_rect_px))
            if card_state != self._last_card_state:
                damage.append(union_rect(card_rect, self._last_card_rect))
        self._last_card_state = card_state
        self._last_card_rect = card_rect
        self._full_redraw = False
        self._damage = [self._aligned(r) for r in damage]
        self._yuv_damage += self._damage
        if len(self._yuv_damage) > MAX_PENDING_YUV_RECTS:  # nobody reads YUV (not recording)
            self._yuv_damage = [self._full_rect()]
        self.gl.begin()
        gloo.set_state(depth_test=False, cull_face=False, scissor_test=True,
                       blend_func=("src_alpha", "one_minus_src_alpha", "one",
                                   "one_minus_src_alpha"))
        for rect in self._damage:
            if rect[2] == 0 or rect[3] == 0:
                continue
            self._scissor(rect)
            gloo.set_state(blend=False)  # opaque and pixel-aligned: the cheap path on llvmpipe
            self._draw_texture(self._background, self._full_rect())
            gloo.set_state(blend=True)
            if self._avatar is not None and camera_alpha < 1.0 and \
                    self._overlaps(rect, self.layout.host_rect_px):
                self._avatar.draw(params, self.layout.host_rect_px,
                                  (self.width_px, self.height_px), audio)
                gloo.set_viewport(0, 0, self.width_px, self.height_px)
                gloo.set_state(blend=True, depth_test=False, cull_face=False, scissor_test=True,
                               blend_func=("src_alpha", "one_minus_src_alpha", "one",
                                           "one_minus_src_alpha"))
                self._scissor(rect)
            if camera_alpha > 0.0:
                gloo.set_state(blend=camera_alpha < 1.0)
                self._draw_texture(self._camera, self._full_rect(), camera_alpha,
                                   self._camera_uv)
                gloo.set_state(blend=True)
            if self._card is not None and card_alpha > 0.0:
                self._draw_texture(self._card, (x + card_offset_px, y, w, h), card_alpha)
            if label:
                self._draw_texture(self._label, self._label_rect)  # always last
        gloo.set_state(scissor_test=False)
        self.gl.end()

    @staticmethod
    def _overlaps(a: Rect, b: Rect) -> bool:
        return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and \
            b[1] < a[1] + a[3]

    def invalidate(self) -> None:
        """Redraw everything next frame (after a layer other than host or card changed)."""
        self._full_redraw = True

    def read_rgba(self) -> RGBImage:
        """The composed frame, RGBA top row first (for previews and tests)."""
        self.gl.begin()
        try:
            return np.ascontiguousarray(self.gl.read_rgba())
        finally:
            self.gl.end()

    def read_yuv420p(self) -> npt.NDArray[np.uint8] | None:
        """The frame as yuv420p bytes shaped (height*3/2, width), or None for odd sizes."""
        if not self._yuv_ready:
            return None
        from vispy.gloo import gl

        gloo = self._gloo
        self.gl.make_current()
        self._yuv_fbo.activate()
        packed_w, packed_h = self._packed_size
        h = self.height_px
        gloo.set_state(blend=False, depth_test=False, scissor_test=True)
        scene = self.gl.color_texture
        scene.interpolation = "nearest"
        gloo.set_viewport(0, 0, packed_w, h)
        damage, self._yuv_damage = self._yuv_damage, []
        for x, y, dw, dh in damage:  # Y rows are image rows, 4 pixels per texel
            gloo.set_scissor(x // 4, y, dw // 4, dh)
            self._y_pass.draw("triangle_strip")
        scene.interpolation = "linear"
        for first_row, coeffs in ((h, (-0.1146, -0.3854, 0.5)),
                                  (h + h // 4, (0.5, -0.4542, -0.0458))):
            gloo.set_viewport(0, first_row, packed_w, h // 4)
            self._c_pass["u_first_row"] = float(first_row)
            self._c_pass["u_coeffs"] = coeffs
            for _, y, _, dh in damage:  # a packed row holds two chroma rows
                gloo.set_scissor(0, first_row + y // 4, packed_w, -(-dh // 4))
                self._c_pass.draw("triangle_strip")
        gloo.set_state(scissor_test=False)
        self.gl.flush()
        gl.glPixelStorei(gl.GL_PACK_ALIGNMENT, 1)
        data = gl.glReadPixels(0, 0, packed_w, packed_h, gl.GL_RGBA, gl.GL_UNSIGNED_BYTE)
        self._yuv_fbo.deactivate()
        buf = np.frombuffer(data, dtype=np.uint8)
        return buf.reshape(self.height_px * 3 // 2, self.width_px)

    def close(self) -> None:
        self.gl.close()
