"""Photo avatar speed: ms per frame at 720p and 1080p on this machine's GL (llvmpipe here).

Built from skimage's astronaut (public domain). Prints JSON: the avatar drawn whole every frame
(``draw_ms``, the worst case), the compositor's frame with damage rectangles (``compose_ms``,
what a show pays), and with the YUV readback an encoder needs; the default host alongside.
Speech-like motion: the jaw and lips moving, blinks, a slow head sway.
"""

from __future__ import annotations

import json
import math
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

FRAMES = 90


def _params(frames: int) -> list[Any]:
    from studio.face.params import FaceParams

    out = []
    for i in range(frames):
        t = i / 30.0
        out.append(FaceParams(
            jaw_open=abs(math.sin(t * 9.0)) * 0.8, lip_pucker=max(0.0, math.sin(t * 3.1)) * 0.5,
            lip_stretch=max(0.0, math.cos(t * 2.3)) * 0.4, blink_left=float(i % 45 < 3),
            blink_right=float(i % 45 < 3), head_yaw_rad=0.08 * math.sin(t * 0.9),
            head_pitch_rad=0.04 * math.sin(t * 1.3), head_roll_rad=0.03 * math.sin(t * 0.7),
            gaze_x=0.3 * math.sin(t), breath=0.5 + 0.5 * math.sin(t * 1.5)))
    return out


def _measure(width: int, height: int, make: Any, params: list[Any]) -> dict[str, float]:
    from vispy.gloo import gl

    from studio.compose.compositor import Compositor
    from studio.show.model import Stage

    comp = Compositor(width, height, Stage(), make)
    avatar = comp._avatar
    assert avatar is not None
    comp.compose(params[0])
    comp.read_yuv420p()
    comp.gl.begin()
    t = time.perf_counter()
    for p in params:
        avatar.draw(p, comp.layout.host_rect_px, (width, height))
    comp.gl.flush()
    gl.glFinish()
    draw_ms = (time.perf_counter() - t) / len(params) * 1000
    comp.gl.end()
    comp.invalidate()
    t = time.perf_counter()
    for p in params:
        comp.compose(p, card_alpha=0.0)
        comp.gl.flush()
        gl.glFinish()
    compose_ms = (time.perf_counter() - t) / len(params) * 1000
    t = time.perf_counter()
    for p in params:
        comp.compose(p, card_alpha=0.0)
        comp.read_yuv420p()
    yuv_ms = (time.perf_counter() - t) / len(params) * 1000
    comp.close()
    return {"draw_ms": round(draw_ms, 2), "compose_ms": round(compose_ms, 2),
            "compose_and_yuv_ms": round(yuv_ms, 2)}


def main() -> None:
    import numpy as np
    from PIL import Image
    from skimage import data

    from studio.avatar.photo import PhotoAvatar, build_photo_avatar
    from studio.avatar.renderer import AvatarRenderer
    from studio.show.model import HostLook

    params = _params(FRAMES)
    results: dict[str, Any] = {"frames": FRAMES}
    with tempfile.TemporaryDirectory() as tmp:
        portrait = Path(tmp) / "astronaut.png"
        Image.fromarray(np.asarray(data.astronaut())).save(portrait)  # type: ignore[no-untyped-call]
        t = time.perf_counter()
        built = build_photo_avatar(portrait)
        results["build_s"] = round(time.perf_counter() - t, 2)
        t = time.perf_counter()
        built.save(Path(tmp) / "avatar")
        results["save_s"] = round(time.perf_counter() - t, 2)
        folder = Path(tmp) / "avatar"
        for width, height in ((1280, 720), (1920, 1080)):
            photo = _measure(width, height, lambda: PhotoAvatar.load(folder), params)
            default = _measure(width, height, lambda: AvatarRenderer(HostLook()), params)
            results[f"{width}x{height}"] = {
                "photo": photo, "default_host": default,
                "photo_fps_whole_draw": round(1000.0 / max(photo["draw_ms"], 1e-6), 1)}
    json.dump(results, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
