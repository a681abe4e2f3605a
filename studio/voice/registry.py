"""Every voice behind one name: engines register here, and a show picks its voice by name or path.

Nothing outside studio.voice constructs a TTS class: the render and the live engine call
``load_voice(show.host.voice, ...)``. An engine registers a factory (builds a loaded voice), a
lister (the voices it has installed) and optionally a describer (is this name or file one of
mine?), so adding an engine is one ``register_engine`` call, not another branch here.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from studio.core.errors import StudioError, UserInputError
from studio.voice.types import Sex, TTSEngine, VoiceInfo

__all__ = ["LANGUAGE_NAMES", "EngineFactory", "Sex", "VoiceInfo", "check_language", "list_voices",
           "load_voice",
           "register_engine", "voice_info"]

LANGUAGE_NAMES = {"en": "English", "zh": "Mandarin Chinese", "ja": "Japanese"}


class EngineFactory(Protocol):
    """Builds a loaded voice. ``voice`` is the name or path as the show wrote it."""

    def __call__(self, info: VoiceInfo, voice: str, *, base_dir: Path | None, language: str,
                 speaking_rate: float, pronunciations: Mapping[str, str] | None,
                 threads: int | None) -> TTSEngine: ...


VoiceLister = Callable[[], list[VoiceInfo]]
# Returns the voice's info when ``voice`` (a name or a path, relative to base_dir) is this
# engine's, None when it is not; raises StudioError when it is but cannot be used (missing file).
VoiceDescriber = Callable[[str, Path | None], VoiceInfo | None]


@dataclass(frozen=True, slots=True)
class _Engine:
    name: str
    factory: EngineFactory
    lister: VoiceLister
    describe: VoiceDescriber | None


_ENGINES: dict[str, _Engine] = {}
_builtins_lock = threading.Lock()
_builtins_loaded = False


def register_engine(name: str, factory: EngineFactory, lister: VoiceLister, *,
                    describe: VoiceDescriber | None = None) -> None:
    """Make an engine's voices loadable by name (``name:voice`` or a listed voice's name) and,
    with ``describe``, by path. Registering a name again replaces the engine."""
    _ENGINES[name] = _Engine(name, factory, lister, describe)


def _engines() -> list[_Engine]:
    global _builtins_loaded
    with _builtins_lock:
        if not _builtins_loaded:
            _builtins_loaded = True
            # Each module registers itself on import; imported here, not at the top, so
            # this module stays cheap to import and free of cycles.
            import studio.voice.kokoro_tts
            import studio.voice.piper_tts  # noqa: F401
    return list(_ENGINES.values())


def list_voices() -> list[VoiceInfo]:
    """Every installed voice of every registered engine (an engine that fails to list is
    skipped: a broken extra must not hide the other voices)."""
    voices: list[VoiceInfo] = []
    for engine in _engines():
        try:
            voices += engine.lister()
        except StudioError:
            continue
    return voices


def _find(voice: str, base_dir: Path | None) -> tuple[_Engine, VoiceInfo]:
    text = voice.strip()
    if not text:
        raise UserInputError("no voice given; set [host] voice to a voice name (run "
                             "`studio voices` for the installed ones) or a voice file's path")
    engines = _engines()
    for engine in engines:
        for info in engine.lister():
            if text in (info.name, f"{engine.name}:{info.name}"):
                return engine, info
    for engine in engines:
        if engine.describe is not None:
            found = engine.describe(text, base_dir)
            if found is not None:
                return engine, found
    names = ", ".join(v.name for v in list_voices()) or "none installed"
    raise UserInputError(
        f"voice {voice!r} is not an installed voice ({names}) nor a path to a voice file "
        "(a Piper .onnx with its .onnx.json, or a Kokoro .npy/.bin voice); set [host] voice to "
        "one of those (`studio voices` lists them)")


def voice_info(voice: str, base_dir: Path | None = None) -> VoiceInfo:
    """What ``voice`` (a name, or a path relative to ``base_dir``) is, without loading it."""
    return _find(voice, base_dir)[1]


def check_language(info: VoiceInfo, language: str) -> None:
    """UserInputError naming the voice and the language when the voice cannot speak it."""
    if info.speaks(language):
        return
    wanted = LANGUAGE_NAMES.get(language, language)
    others = [v.name for v in list_voices() if v.speaks(language)]
    fix = (f"set [host] voice to one that does ({', '.join(others)})" if others
           else f"install a voice that speaks {wanted}")
    spoken = ", ".join(LANGUAGE_NAMES.get(x, x) for x in info.languages) or "no language"
    raise UserInputError(f"voice {info.name!r} cannot speak {wanted} ({language!r}), the show's "
                         f"language: it speaks {spoken}; {fix}, or change [show] language")


def load_voice(voice: str, *, base_dir: Path | None, language: str, speaking_rate: float = 1.0,
               pronunciations: Mapping[str, str] | None = None,
               threads: int | None = None) -> TTSEngine:
    """The loaded voice for a show's ``[host] voice``. ``threads`` caps its CPU threads (live
    mode leaves a core to the video); ``pronunciations`` is the show's word → phonemes or
    respelling table, applied before synthesis. Raises UserInputError with the fix for an
    unknown voice or one that cannot speak ``language``."""
    engine, info = _find(voice, base_dir)
    check_language(info, language)
    return engine.factory(info, voice.strip(), base_dir=base_dir, language=language,
                          speaking_rate=speaking_rate, pronunciations=pronunciations,
                          threads=threads)
