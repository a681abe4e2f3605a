"""Pixel rectangles (x, y, w, h; y from the top): the damage rects the compositor and the
avatars share."""

from __future__ import annotations

Rect = tuple[int, int, int, int]


def union_rect(a: Rect, b: Rect | None) -> Rect:
    """The smallest rect holding both; an empty or missing one adds nothing."""
    if b is None or b[2] <= 0 or b[3] <= 0:
        return a
    if a[2] <= 0 or a[3] <= 0:
        return b
    x0, y0 = min(a[0], b[0]), min(a[1], b[1])
    x1, y1 = max(a[0] + a[2], b[0] + b[2]), max(a[1] + a[3], b[1] + b[3])
    return (x0, y0, x1 - x0, y1 - y0)


def clip_rect(a: Rect, bounds: Rect) -> Rect:
    """``a`` inside ``bounds`` (zero width or height when they do not meet)."""
    x0, y0 = max(a[0], bounds[0]), max(a[1], bounds[1])
    x1 = min(a[0] + a[2], bounds[0] + bounds[2])
    y1 = min(a[1] + a[3], bounds[1] + bounds[3])
    return (x0, y0, max(0, x1 - x0), max(0, y1 - y0))
