"""Slot exceptions become visible messages, never a crash: the show must stay on air.

Qt calls slots from its event loop, where an uncaught exception would either be printed
and lost or abort the process. ``guarded`` routes it to one reporter the window installs
(its problem banner), and logs the traceback for the bug report.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from studio.core.errors import StudioError
from studio.ui.i18n import N_, tr

_LOG = logging.getLogger("studio.ui")

P = ParamSpec("P")
R = TypeVar("R")

Reporter = Callable[[str, str], None]  # (message, fix)
_reporter: Reporter | None = None


def set_reporter(reporter: Reporter | None) -> None:
    """The window calls this once; tests may install their own."""
    global _reporter
    _reporter = reporter


def error_text(exc: BaseException) -> str:
    """What went wrong, in words: never the exception's class name or repr (the log has
    those); a quoted key (``str(KeyError('mug'))``) loses its quotes."""
    text = str(exc).strip()
    if isinstance(exc, KeyError) and len(text) >= 2 and text[0] == text[-1] == "'":
        text = tr("{name} is not known", name=text[1:-1])
    return text or tr("an unexpected error")


def report_exception(exc: BaseException, doing: str = "") -> None:
    """Show an exception to the operator: StudioErrors as they are, others as bugs.

    ``doing`` is English marked with ``N_`` (translated here), saying what failed."""
    prefix = f"{tr(doing)}: " if doing else ""
    if isinstance(exc, StudioError):
        message, fix = f"{prefix}{exc}", ""
    else:
        _LOG.error("unexpected error %s", doing, exc_info=exc)
        message = f"{prefix}{error_text(exc)}"
        fix = tr("The show keeps running. If this repeats, save the show and restart the "
                 "studio.")
    if _reporter is not None:
        try:
            _reporter(message, fix)
            return
        except Exception:  # the reporter itself failed: fall back to the log
            _LOG.exception("problem reporter failed")
    _LOG.error("%s %s", message, fix)


def guarded(func: Callable[P, R]) -> Callable[P, R | None]:
    """Wrap a slot so an exception is reported instead of escaping into Qt."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R | None:
        try:
            return func(*args, **kwargs)
        except Exception as exc:
            _LOG.error("slot %s failed", func.__qualname__)
            report_exception(exc, N_("The window could not do that"))
            return None

    return wrapper
