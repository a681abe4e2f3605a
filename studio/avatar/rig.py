"""The host's layout in design units and the mapping from design units to frame pixels.

Design space: x = 0 on the rect's vertical centre line, y = 0 at the rect's top, y grows down,
one unit = ``scale_px`` pixels (about the rect height). Every texture and mesh is authored here,
so the same numbers drive painting (textures.py), geometry (renderer.py) and tests.
"""

from __future__ import annotations

from dataclasses import dataclass

# Widest design x any layer may reach (shoulders); the scale keeps it inside the rect.
HALF_WIDTH_U = 0.465

# Head: skull circle, ellipsoid used for 2.5D depth, features.
SKULL_C_U = (0.0, 0.215)
SKULL_R_U = 0.155
HEAD_DEPTH_C_U = (0.0, 0.29)      # centre of the depth ellipsoid
HEAD_DEPTH_R_U = (0.158, 0.215)   # its x/y radii
HEAD_DEPTH_U = 0.11               # its depth toward the viewer at the centre
NOSE_U = (0.0, 0.352)             # nose tip
NOSE_BUMP_U = (0.028, 0.032)      # gaussian sigma and extra depth of the nose
EYE_Y_U = 0.305
EYE_X_U = 0.064
MOUTH_U = (0.0, 0.398)
CHIN_Y_U = 0.452
ROLL_PIVOT_U = (0.0, 0.50)        # the head rolls about the top of the neck
JAW_DROP_U = 0.03                # how far the chin drops at jaw_open = 1
JAW_RAMP_U = (0.405, 0.445)       # y range over which the jaw drop ramps in

# Local quads of the dynamic features (design units around the feature centre).
EYE_QUAD_U = (-0.052, -0.082, 0.064, 0.032)    # x0, y0, x1, y1 (x mirrored: + = outer)
MOUTH_QUAD_U = (-0.078, -0.04, 0.078, 0.085)
# Region the tests measure the mouth in (neutral pose), relative to MOUTH_U.
MOUTH_MEASURE_U = (-0.07, -0.03, 0.07, 0.047)


@dataclass(frozen=True, slots=True)
class Placement:
    """Where design space lands in the frame for one host rect."""

    center_x_px: float
    top_y_px: float
    scale_px: float
    bottom_u: float  # design y of the rect's bottom edge

    @staticmethod
    def for_rect(rect_px: tuple[int, int, int, int]) -> Placement:
        x, y, w, h = rect_px
        scale_px = float(min(h, w / (2.0 * HALF_WIDTH_U)))
        return Placement(center_x_px=x + w / 2.0, top_y_px=float(y), scale_px=scale_px,
                         bottom_u=h / scale_px)

    def to_px(self, x_u: float, y_u: float) -> tuple[float, float]:
        return self.center_x_px + x_u * self.scale_px, self.top_y_px + y_u * self.scale_px


def mouth_rect_px(rect_px: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    """The mouth region, neutral pose, in frame pixels (y from the top)."""
    pl = Placement.for_rect(rect_px)
    x0, y0, x1, y1 = MOUTH_MEASURE_U
    left, top = pl.to_px(MOUTH_U[0] + x0, MOUTH_U[1] + y0)
    right, bottom = pl.to_px(MOUTH_U[0] + x1, MOUTH_U[1] + y1)
    return round(left), round(top), round(right - left), round(bottom - top)


def eye_rect_px(rect_px: tuple[int, int, int, int], side: int) -> tuple[int, int, int, int]:
    """One eye's region (side -1 = viewer's left), neutral pose, in frame pixels."""
    pl = Placement.for_rect(rect_px)
    cx = side * EYE_X_U
    left, top = pl.to_px(cx - 0.042, EYE_Y_U - 0.032)
    right, bottom = pl.to_px(cx + 0.042, EYE_Y_U + 0.026)
    return round(left), round(top), round(right - left), round(bottom - top)
