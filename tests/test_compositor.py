"""The compositor redraws only what changed; the picture must equal a full redraw, always."""

from __future__ import annotations

import numpy as np

from studio.avatar.renderer import AvatarRenderer
from studio.compose.compositor import Compositor, StageLayout
from studio.face.params import FaceParams
from studio.show.model import HostLook, Stage


def _poses(n: int) -> list[FaceParams]:
    rng = np.random.default_rng(3)
    out = []
    for i in range(n):
        t = i / 30
        extreme = i % 17 == 0  # now and then a big jump: the damage must cover it too
        out.append(FaceParams(
            jaw_open=float(abs(np.sin(t * 7))), lip_pucker=float(rng.uniform(0, 0.6)),
            lip_press=float(i % 11 == 0), smile=float(rng.uniform(0, 0.5)),
            blink_left=float(i % 40 < 3), blink_right=float(i % 40 < 3),
            brow_raise=float(rng.uniform(0, 1)),
            head_yaw_rad=float(rng.uniform(-0.45, 0.45) if extreme else 0.1 * np.sin(t)),
            head_pitch_rad=float(rng.uniform(-0.3, 0.3) if extreme else 0.05 * np.sin(t * 1.3)),
            head_roll_rad=float(rng.uniform(-0.4, 0.4) if extreme else 0.04 * np.sin(t * 0.7)),
            gaze_x=float(np.sin(t)), gaze_y=float(np.cos(t)),
            breath=float((1 + np.sin(t * 1.5)) / 2)))
    return out


def test_damage_redraw_equals_full_redraw() -> None:
    look = HostLook(hair_style="long")
    tracked = Compositor(480, 272, Stage(), lambda: AvatarRenderer(look))
    full = Compositor(480, 272, Stage(), lambda: AvatarRenderer(look))
    damage_area = []
    for index, params in enumerate(_poses(90)):
        tracked.compose(params, card_alpha=0.0)
        full.invalidate()
        full.compose(params, card_alpha=0.0)
        a, b = tracked.read_rgba(), full.read_rgba()
        diff = np.abs(a.astype(int) - b.astype(int)).max()
        assert diff <= 1, f"frame {index}: damage redraw differs from a full redraw by {diff}"
        ya, yb = tracked.read_yuv420p(), full.read_yuv420p()
        assert ya is not None and yb is not None
        assert np.abs(ya.astype(int) - yb.astype(int)).max() <= 1, f"YUV differs in {index}"
        damage_area.append(sum(w * h for _, _, w, h in tracked._damage))
    host = StageLayout.for_frame(480, 272).host_rect_px
    # Most frames redraw much less than the host's whole rect.
    assert np.median(damage_area[1:]) < 0.8 * host[2] * host[3]
    tracked.close()
    full.close()


def test_frames_nobody_encodes_leave_nothing_behind() -> None:
    """A live preview without a recording never reads YUV: pending work must not pile up."""
    comp = Compositor(320, 180, Stage(), lambda: AvatarRenderer(HostLook()))
    for params in _poses(200):
        comp.compose(params)
        comp.read_rgba()
    assert len(comp._yuv_damage) <= 16
    full = Compositor(320, 180, Stage(), lambda: AvatarRenderer(HostLook()))
    last = _poses(200)[-1]
    full.compose(last)
    tracked_yuv, full_yuv = comp.read_yuv420p(), full.read_yuv420p()
    assert tracked_yuv is not None and full_yuv is not None
    assert np.abs(tracked_yuv.astype(int) - full_yuv.astype(int)).max() <= 1
    comp.close()
    full.close()
