"""Face parameters: the one vocabulary between motion (face/) and rendering (avatar/).

Mouth values are 0..1 activations; head angles are radians (yaw > 0 turns to the viewer's
right, pitch > 0 nods down, roll > 0 tilts clockwise on screen); gaze is -1..1 of the eye's
range (x > 0 looks to the viewer's right, y > 0 looks up); blink 1 = closed.
"""

from __future__ import annotations

from dataclasses import dataclass, fields


@dataclass(frozen=True, slots=True)
class FaceParams:
    jaw_open: float = 0.0
    lip_pucker: float = 0.0
    lip_press: float = 0.0
    lip_stretch: float = 0.0
    smile: float = 0.0
    tongue_up: float = 0.0
    blink_left: float = 0.0
    blink_right: float = 0.0
    brow_raise: float = 0.0
    head_yaw_rad: float = 0.0
    head_pitch_rad: float = 0.0
    head_roll_rad: float = 0.0
    gaze_x: float = 0.0
    gaze_y: float = 0.0
    breath: float = 0.0

    def as_dict(self) -> dict[str, float]:
        return {f.name: float(getattr(self, f.name)) for f in fields(self)}


NEUTRAL = FaceParams()


_FIELDS = tuple(f.name for f in fields(FaceParams))


def blend(a: FaceParams, b: FaceParams, weight: float) -> FaceParams:
    """``a`` moved ``weight`` (0..1) of the way to ``b``, field by field."""
    if weight <= 0.0:
        return a
    if weight >= 1.0:
        return b
    return FaceParams(**{name: (1.0 - weight) * getattr(a, name) + weight * getattr(b, name)
                         for name in _FIELDS})


MOUTH_FIELDS = ("jaw_open", "lip_pucker", "lip_press", "lip_stretch", "smile", "tongue_up")
"""The fields speech moves (the rest are head, eyes, brows and breath)."""
