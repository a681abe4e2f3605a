"""The avatar interface and its registry: what the compositor draws as the host.

The show's ``[host] avatar`` names the avatar: ``"default"`` (the stylised host drawn by
:class:`studio.avatar.renderer.AvatarRenderer` from ``[host.look]``), or a path to an avatar
folder (a photo avatar package, a neural model plug-in), resolved against the show's folder.
Kinds register themselves here, with a probe that says whether a folder is theirs, so the
compositor, the render, the live engine and ``studio check`` never name a class.

An avatar draws itself into the bound framebuffer (premultiplied alpha over what is there),
inside the host's rectangle, for one frame's face parameters, on the GL thread that made it.
An avatar that hears the voice (a Wav2Lip-style model) says how much of the program's sound
around each frame it needs (``audio_window_s``); the engine hands it that sound with the
frame (:class:`FrameAudio`: what went on air before the frame, the speech placed after it).
The stylised host and the photo avatar need none: the face parameters drive them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from studio.core.errors import StudioError
from studio.core.media import AudioChunk, FloatAudio, copy_overlap
from studio.core.rects import Rect

if TYPE_CHECKING:
    from studio.face.params import FaceParams
    from studio.show.model import Host

DEFAULT_AVATAR = "default"


@dataclass(frozen=True, slots=True, eq=False)
class FrameAudio:
    """The program's sound around one frame, for an avatar that hears the voice: ``sound``
    (mono float32 on the engine clock) covers the avatar's ``audio_window_s`` around
    ``frame_start_samples``: before the frame, what went on air (the AI's voice, the
    microphone while a human speaks); from the frame on, the speech the program has placed
    (not on air yet). Samples outside it read as silence."""

    frame_start_samples: int
    sound: AudioChunk

    def between(self, start: int, end: int) -> FloatAudio:
        """Samples [start, end) on the engine clock (silence where the window has none)."""
        out = np.zeros(max(0, end - start), np.float32)
        copy_overlap(out, start, self.sound.samples, self.sound.pts_samples)
        return out


NO_AUDIO_WINDOW = (0.0, 0.0)


class Avatar(Protocol):
    """What the compositor needs from a host avatar."""

    @property
    def audio_window_s(self) -> tuple[float, float]:
        """How much of the program's sound each ``draw`` needs, in seconds before and after
        the frame's start; ``NO_AUDIO_WINDOW``: none (the face parameters drive it)."""

    def draw(self, params: FaceParams, rect_px: Rect, frame_size_px: tuple[int, int],
             audio: FrameAudio | None = None) -> None:
        """Draw the host for ``params`` into ``rect_px`` of the bound framebuffer; ``audio``:
        the program's sound around the frame (``audio_window_s`` of it; None: silence)."""

    def damage_rect_px(self, params: FaceParams, rect_px: Rect) -> Rect:
        """The part of ``rect_px`` that drawing ``params`` changes since the last draw
        (``rect_px`` itself when unsure)."""

    def mouth_rect_px(self, rect_px: Rect) -> Rect:
        """Where the mouth is, at the neutral pose, for this host rectangle."""


class AvatarRefused(StudioError):
    """The avatar cannot go on air (a bad folder, a missing or broken consent record)."""


@dataclass(frozen=True, slots=True)
class AvatarNotice:
    """Something the user must be told about an avatar though nothing stops it going on air
    (a model's licence). ``text``: the English line (``studio check``'s ``note:``);
    ``code`` and ``args`` let the window say it in its language; ``warning``: it limits
    what the avatar may be used for (non-commercial terms), shown as a warning."""

    text: str
    code: str = ""
    args: tuple[tuple[str, str], ...] = ()
    warning: bool = False

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True, slots=True)
class AvatarKind:
    """One kind of avatar: ``probe(folder)`` says whether the folder is this kind's;
    ``check(folder)`` lists what is wrong with it (empty: it can go on air); ``load``
    builds it (on the GL thread, with its context current)."""

    name: str
    probe: Callable[[Path], bool]
    check: Callable[[Path], list[str]]
    load: Callable[[Path, Host], Avatar]
    # What the user must be told even when nothing is wrong (a model's licence terms).
    notices: Callable[[Path], list[AvatarNotice]] = lambda folder: []


_KINDS: dict[str, AvatarKind] = {}


def register_avatar_kind(kind: AvatarKind) -> None:
    _KINDS[kind.name] = kind


def _load_kinds() -> None:
    """Import the modules that register the shipped kinds (once; cheap when done)."""
    import importlib

    for module in ("studio.avatar.package", "studio.avatar.neural"):
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:  # a kind that is not built yet registers nothing
            if exc.name != module:
                raise


def resolve_avatar(host: Host, base_dir: Path | None) -> tuple[AvatarKind | None, Path | None]:
    """(kind, folder) for the show's avatar; (None, None) for the default host."""
    name = host.avatar.strip()
    if name in ("", DEFAULT_AVATAR):
        return None, None
    folder = Path(name).expanduser()
    if not folder.is_absolute() and base_dir is not None:
        folder = base_dir / folder
    if not folder.is_dir():
        raise AvatarRefused(
            f"avatar {name!r}: no such folder ({folder}); give the path of an avatar folder "
            "made by `studio avatar create`, or \"default\" for the stylised host")
    _load_kinds()
    for kind in _KINDS.values():
        if kind.probe(folder):
            return kind, folder
    raise AvatarRefused(
        f"avatar {name!r}: {folder} is not an avatar folder (no avatar.json or model "
        "manifest in it); make one with `studio avatar create PORTRAIT ...`")


def avatar_problems(host: Host, base_dir: Path | None) -> list[str]:
    """Everything that would stop the show's avatar going on air (for ``studio check``, the
    render and the live engine alike)."""
    try:
        kind, folder = resolve_avatar(host, base_dir)
    except AvatarRefused as exc:
        return [str(exc)]
    if kind is None or folder is None:
        return []
    return kind.check(folder)


def avatar_notices(host: Host, base_dir: Path | None) -> list[AvatarNotice]:
    """What ``studio check`` and the window show about the show's avatar besides its
    problems."""
    try:
        kind, folder = resolve_avatar(host, base_dir)
    except AvatarRefused:
        return []
    return [] if kind is None or folder is None else kind.notices(folder)


def build_avatar(host: Host, base_dir: Path | None) -> Avatar:
    """The show's avatar, ready to draw (call with the GL context current). Refused, with
    the reason, when it cannot go on air (the problems ``avatar_problems`` lists)."""
    kind, folder = resolve_avatar(host, base_dir)
    if kind is None or folder is None:
        from studio.avatar.renderer import AvatarRenderer

        return AvatarRenderer(host.look)
    problems = kind.check(folder)
    if problems:
        raise AvatarRefused("; ".join(problems))
    return kind.load(folder, host)
