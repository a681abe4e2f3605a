"""The picture size, frame rate and output files a command accepts, checked in one place.

``studio app``, ``render``, ``demo`` and ``run`` (and ``RenderSettings.validate``) all call
``check_settings``, so a size, rate or folder refused by one is refused by all, with the same
message naming the flag and the fix, before any window, voice or encoder starts.
"""

from __future__ import annotations

import errno
import tempfile
from collections.abc import Iterable
from fractions import Fraction
from pathlib import Path

from studio.core.errors import UserInputError

MIN_SIDE_PX = 160  # below this the product card and the label no longer fit
MAX_SIDE_PX = 7680
MAX_PIXELS = 7680 * 4320  # 8K UHD, landscape or portrait (H.264 level 6.2 allows it)
MIN_FPS = Fraction(1)
MAX_FPS = Fraction(120)


def check_size(width_px: int, height_px: int) -> None:
    """UserInputError unless the size is one every output can encode (H.264 needs even sides)."""
    size = f"--size {width_px}x{height_px}"
    if not (MIN_SIDE_PX <= width_px <= MAX_SIDE_PX and MIN_SIDE_PX <= height_px <= MAX_SIDE_PX
            and width_px * height_px <= MAX_PIXELS):
        raise UserInputError(f"{size} is out of range; use between {MIN_SIDE_PX}x{MIN_SIDE_PX} "
                             "and 7680x4320 (or 4320x7680 portrait), e.g. --size 1280x720")
    if width_px % 2 or height_px % 2:
        raise UserInputError(f"{size}: H.264 needs an even width and height; use "
                             f"--size {width_px + width_px % 2}x{height_px + height_px % 2}")


def check_fps(fps: Fraction) -> None:
    """UserInputError unless ``fps`` is a frame rate a viewer would call video (1 to 120)."""
    if not MIN_FPS <= fps <= MAX_FPS:
        raise UserInputError(f"--fps {float(fps):g} is out of range; use {MIN_FPS} to "
                             f"{MAX_FPS} frames per second, e.g. --fps 30 (or 25, 29.97, 60)")


def check_output_file(path: Path, flag: str = "--out") -> None:
    """UserInputError naming the folder when ``path`` cannot be written: the folder is missing,
    is not a folder, or refuses a new file (tried for real: permissions alone do not tell, as
    root or on /proc and read-only mounts)."""
    shown = f"{flag} {path}"
    target = path.expanduser().absolute()
    folder = target.parent
    if target.is_dir():
        raise UserInputError(f"{shown} is a folder; give a file name in it, e.g. "
                             f"{flag} {target / 'show.mp4'}")
    if not folder.exists():
        raise UserInputError(f"{shown}: the folder {folder} does not exist; create it "
                             f"(mkdir -p {folder}) or choose an existing folder")
    if not folder.is_dir():
        raise UserInputError(f"{shown}: {folder} is not a folder; choose a file in a folder")
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".studio-write-test-"):
            pass
    except OSError as exc:
        reason = exc.strerror or errno.errorcode.get(exc.errno or 0, str(exc))
        raise UserInputError(f"{shown}: cannot write in the folder {folder} ({reason}); "
                             f"choose a folder you can write to, e.g. {flag} ./{target.name}"
                             ) from None


def check_settings(size: tuple[int, int], fps: Fraction,
                   out_files: Iterable[Path] = ()) -> None:
    """The one check of ``--size``, ``--fps`` and every ``--out`` file, for every command."""
    check_size(*size)
    check_fps(fps)
    for path in out_files:
        check_output_file(path)
