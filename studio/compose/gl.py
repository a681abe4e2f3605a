"""Offscreen OpenGL through vispy: EGL surfaceless when there is no display, no X server needed.

One ``OffscreenGL`` owns the context and a colour+depth framebuffer of the output size;
everything that draws (background, avatar, overlays) draws into it while it is bound.
"""

from __future__ import annotations

import os
import threading
from typing import Any

import numpy as np

from studio.core.errors import DependencyError
from studio.core.media import RGBImage

_backend_lock = threading.Lock()
_backend_ready = False


def _ensure_backend() -> None:
    """Pick vispy's EGL app once per process (headless), unless a Qt backend is already in use."""
    global _backend_ready
    with _backend_lock:
        if _backend_ready:
            return
        os.environ.setdefault("EGL_PLATFORM", "surfaceless")
        import vispy

        try:
            vispy.use(app="egl")
        except Exception as exc:  # vispy raises RuntimeError/ImportError variants
            raise DependencyError(
                f"cannot start offscreen OpenGL through EGL ({exc}). Install Mesa's EGL "
                "driver: apt-get install libegl1 libegl-mesa0 libgl1-mesa-dri libgles2"
            ) from exc
        _backend_ready = True


class OffscreenGL:
    """An EGL context with a framebuffer of ``width_px`` x ``height_px`` to draw into."""

    def __init__(self, width_px: int, height_px: int) -> None:
        _ensure_backend()
        from vispy import app, gloo

        self.width_px = width_px
        self.height_px = height_px
        try:
            self._canvas: Any = app.Canvas(size=(width_px, height_px), show=False)
        except Exception as exc:
            raise DependencyError(
                f"cannot create an offscreen OpenGL context ({exc}). Install Mesa's EGL "
                "driver: apt-get install libegl1 libegl-mesa0 libgl1-mesa-dri libgles2"
            ) from exc
        self._canvas.set_current()
        self._color = gloo.Texture2D(shape=(height_px, width_px, 4), interpolation="linear")
        self._depth = gloo.RenderBuffer((height_px, width_px), format="depth")
        self.framebuffer = gloo.FrameBuffer(color=self._color, depth=self._depth)
        self._readback = np.empty((height_px, width_px, 4), dtype=np.uint8)

    @property
    def color_texture(self) -> Any:
        """The framebuffer's colour texture, for passes that sample the finished picture."""
        return self._color

    def flush(self) -> None:
        """Run vispy's queued GL commands now (before raw GL calls such as glReadPixels)."""
        self._canvas.context.flush_commands()

    def make_current(self) -> None:
        self._canvas.set_current()

    def begin(self) -> None:
        """Bind the framebuffer and set the viewport to the whole frame."""
        from vispy import gloo

        self.make_current()
        self.framebuffer.activate()
        gloo.set_viewport(0, 0, self.width_px, self.height_px)

    def end(self) -> None:
        self.framebuffer.deactivate()

    def read_rgba(self) -> RGBImage:
        """Read the bound framebuffer, top row first (OpenGL's origin is bottom-left)."""
        from vispy.gloo import gl

        self.flush()
        gl.glPixelStorei(gl.GL_PACK_ALIGNMENT, 1)
        data = gl.glReadPixels(0, 0, self.width_px, self.height_px, gl.GL_RGBA,
                               gl.GL_UNSIGNED_BYTE)
        flat = np.frombuffer(data, dtype=np.uint8)
        return flat.reshape(self.height_px, self.width_px, 4)[::-1]

    def close(self) -> None:
        self._canvas.close()
