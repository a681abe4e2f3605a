"""What a show needs beyond its file: the checks ``studio check``, the render and live runs share.

The file itself (schema, scripts, product images decoded for real) is checked by
``studio.show.loader.load_show``, which every command and the window call. The voice and the
avatar live outside the show layer, so they are checked here: ``studio check`` loads the voice
exactly as the render does (``show_voice``) and checks the avatar as the render does before
drawing (``avatar_show_problems``); ``studio run`` and ``studio app`` resolve the voice
(``voice_problems``) before going on air. One function each, so what check accepts a render
cannot refuse.
"""

from __future__ import annotations

from studio.avatar.base import avatar_problems
from studio.core.errors import UserInputError
from studio.show.loader import ShowFileError, ShowProblem, field_problem
from studio.show.model import Show
from studio.voice.registry import check_language, load_voice, voice_info
from studio.voice.types import TTSEngine

VOICE_FIELD = ("host", "voice")


def _voice_error(show: Show, exc: UserInputError) -> UserInputError:
    """The voice's problem as the show file's: its path, the ``voice =`` line, the fix."""
    if show.source_path is None:
        return UserInputError(f"[host] voice: {exc}")
    return ShowFileError(show.source_path, [field_problem(show, VOICE_FIELD, str(exc))])


def show_voice(show: Show, *, threads: int | None = None) -> TTSEngine:
    """The show's voice, loaded (model and config read, language checked); a voice that
    cannot be used raises the show file's error naming the voice file and the fix."""
    try:
        return load_voice(show.host.voice, base_dir=show.base_dir, language=show.show.language,
                          speaking_rate=show.host.speaking_rate,
                          pronunciations=show.pronunciations, threads=threads)
    except ShowFileError:
        raise
    except UserInputError as exc:
        raise _voice_error(show, exc) from None


def voice_problems(show: Show, *, load: bool = False) -> list[ShowProblem]:
    """The voice's problems: resolved by name or path (a Piper ``.onnx`` needs its
    ``.onnx.json``, a Kokoro file its 510×256 values) and able to speak the show's language;
    with ``load``, also loaded as a render loads it (a corrupt model is found too)."""
    try:
        if load:
            show_voice(show)
        else:
            check_language(voice_info(show.host.voice, show.base_dir), show.show.language)
    except ShowFileError as exc:
        return exc.problems
    except UserInputError as exc:
        return [field_problem(show, VOICE_FIELD, str(exc))]
    return []


def avatar_show_problems(show: Show) -> list[ShowProblem]:
    """The avatar's problems (``studio.avatar.base.avatar_problems``, as the renderer checks
    it before building it), at the ``avatar =`` line."""
    return [field_problem(show, ("host", "avatar"), message)
            for message in avatar_problems(show.host, show.base_dir)]


def check_show(show: Show) -> list[ShowProblem]:
    """Everything ``studio check`` adds to the file's own problems: the voice, loaded, and the
    avatar."""
    return voice_problems(show, load=True) + avatar_show_problems(show)


def on_air_problems(show: Show) -> list[ShowProblem]:
    """What refuses a show before it goes on air, without loading the voice (the window's
    File ▸ Open and ``studio run``): the voice resolved and the avatar checked."""
    return voice_problems(show) + avatar_show_problems(show)


def refuse(show: Show, problems: list[ShowProblem]) -> None:
    """Raise the show file's error listing ``problems`` (nothing when there are none)."""
    if problems:
        if show.source_path is None:
            raise UserInputError("; ".join(str(p) for p in problems))
        raise ShowFileError(show.source_path, problems)


def require_voice(show: Show) -> None:
    """Refuse, before anything goes on air, a show whose voice cannot be resolved."""
    refuse(show, voice_problems(show))
