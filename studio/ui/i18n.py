"""The window's language: English source strings, looked up in a shipped catalog.

Every user-visible string in studio/ui goes through ``tr("English text", name=value)``;
the English text is the key, so a string missing from a catalog shows in English rather
than as a blank. Catalogs are plain Python dicts (``studio.ui.i18n_zh``): they ship with
the package, need no lrelease step and are checked by tests/test_i18n.py, which scans the
source for every ``tr("…")``/``N_("…")`` literal and fails when a catalog lacks one.

The same catalog is also installed as a QTranslator, so Qt's ``QCoreApplication.translate``
finds it too, and Qt's own translations (the Yes/No/OK/Cancel of standard dialogs) are
loaded from the PySide6 wheel when present.

The engine stays Qt-free and English: action titles are translated here by action id, and
a ``Problem`` with a ``code`` is rendered from the catalog's template with its ``args``
(``problem_text``); an unknown code falls back to the English message.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PySide6.QtCore import QTranslator

    from studio.engine.actions import Action
    from studio.engine.events import Problem

SYSTEM = "system"
ENGLISH = "en"
CHINESE = "zh_CN"
LANGUAGES: tuple[str, ...] = (SYSTEM, ENGLISH, CHINESE)  # the setting's values
# How each choice names itself (a language's own name, so anyone can find theirs).
LANGUAGE_NAMES: dict[str, str] = {ENGLISH: "English", CHINESE: "简体中文"}

_language = ENGLISH
_catalog: dict[str, str] = {}
_installed: list[QTranslator] = []


def N_(text: str) -> str:
    """Marks a string for the catalog where it is defined; ``tr`` translates it where shown."""
    return text


def system_language() -> str:
    """The language the system asks for: zh_CN for any Chinese locale, else English.

    POSIX order (LANGUAGE, LC_ALL, LC_MESSAGES, LANG) first, read at call time so a test or
    a launcher can set it; Qt's idea of the system locale (Windows, macOS) otherwise."""
    for var in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(var, "").strip()
        if value and value not in ("C", "POSIX") and not value.startswith("C."):
            first = value.split(":")[0].lower()
            return CHINESE if first.startswith("zh") else ENGLISH
    try:
        from PySide6.QtCore import QLocale

        languages = QLocale.system().uiLanguages()
    except ImportError:
        return ENGLISH
    first_ui = languages[0].lower() if languages else ""
    return CHINESE if first_ui.startswith("zh") else ENGLISH


def resolve(setting: str) -> str:
    """A setting value ("system", "en", "zh_CN") as the language to show."""
    if setting == SYSTEM or setting not in LANGUAGES:
        return system_language()
    return setting


def language() -> str:
    """The language the window shows now ("en" or "zh_CN")."""
    return _language


def _catalog_for(lang: str) -> dict[str, str]:
    if lang == CHINESE:
        from studio.ui.i18n_zh import CATALOG

        return CATALOG
    return {}


def set_language(setting: str) -> str:
    """Switch every later ``tr`` to ``setting`` (resolved); returns the language in use.

    Widgets already built keep their text: the window applies a change on the next start."""
    global _language, _catalog
    _language = resolve(setting)
    _catalog = _catalog_for(_language)
    _install_qt_translators()
    return _language


def tr(text: str, /, **values: object) -> str:
    """``text`` in the current language, with ``{name}`` fields filled from ``values``."""
    translated = _catalog.get(text, text)
    if not values:
        return translated
    try:
        return translated.format(**values)
    except (KeyError, IndexError, ValueError):  # a broken translation: the English, filled
        return text.format(**values)


def action_title(spec: Action) -> str:
    """An engine action's title in the window's language (by id; engine text stays English)."""
    return _action_text(spec, "title", spec.title)


def action_description(spec: Action) -> str:
    return _action_text(spec, "description", spec.description)


def action_group(group: str) -> str:
    return _catalog.get(f"group:{group}", group)


def _action_text(spec: Action, what: str, english: str) -> str:
    action_id = spec.id
    number = ""
    if action_id.startswith("quick_phrase_"):
        action_id, number = "quick_phrase_N", action_id.removeprefix("quick_phrase_")
    text = _catalog.get(f"action:{action_id}:{what}")
    if text is None:
        return english
    return text.replace("{n}", number)


# What each engine command is, as the operator did it: a refused command is named by this,
# never by its class name.
COMMAND_NAMES: dict[str, str] = {
    "SetMode": N_("Switching who is on air"), "ToggleTakeover": N_("The takeover"),
    "SetCrossfade": N_("Changing the crossfade"), "SetCamera": N_("Changing the camera"),
    "SetMicrophone": N_("Changing the microphone"), "CalibrateFace": N_("Calibrating the face"),
    "Interject": N_("The interjection"), "InterruptNow": N_("Interrupting the host"),
    "SkipSentence": N_("Skipping the sentence"), "NextProduct": N_("Going to the next product"),
    "GoToProduct": N_("Going to the product"), "SetSkipped": N_("Skipping the product"),
    "ReorderQueue": N_("Reordering the run-down"), "PinProduct": N_("Pinning the product"),
    "UpsertProduct": N_("Saving the product"), "SetPaused": N_("Pausing or resuming"),
    "TogglePause": N_("Pausing or resuming"), "SetStandbyImage": N_("Changing the standby "
                                                                    "picture"),
    "StartRecording": N_("Starting the recording"), "StopRecording": N_("Stopping the "
                                                                        "recording"),
    "AddOutput": N_("Starting the output"), "RemoveOutput": N_("Stopping the output"),
    "SetAudioVolume": N_("Changing the volume"), "PlayTestTone": N_("The test tone"),
}
# English templates for codes whose engine message names internals (a class name): used
# when the catalog has no ``problem:<code>`` of its own.
UI_TEMPLATES: dict[str, str] = {"command.refused": N_("{command} was refused: {error}")}
# Fixes the window gives instead of the engine's, where the engine's is for `studio run`
# under a service manager (its watchdog restarts the process): in the window the operator
# is the one to act.
UI_FIXES: dict[str, str] = {
    "engine.stalled": N_("The outputs hold the picture meanwhile. If the show does not move "
                         "again within a minute, close it and open it again."),
    "engine.failed": N_("Open the show again; if it keeps failing, quit and start the "
                        "studio again."),
}


def _arg(name: str, value: str) -> str:
    """An argument as the operator reads it: a command by what it does, a word translated,
    a quoted key (``str(KeyError('mug'))``) without its quotes."""
    if name == "command":
        return tr(COMMAND_NAMES.get(value, N_("An operator command")))
    if len(value) >= 2 and value[0] == value[-1] == "'":
        value = value[1:-1]
    return _catalog.get(f"arg:{value}", value)


def problem_text(problem: Problem) -> tuple[str, str]:
    """(message, fix) of ``problem`` in the window's language.

    A known ``code`` is rendered from ``problem:<code>`` / ``problem:<code>:fix`` with the
    problem's ``args``; otherwise the English message and fix are looked up as they are
    (the window's own problems use fixed English texts) and shown unchanged if absent."""
    code = problem.code
    # An argument's value may itself be a catalog word ("standby" -> "arg:standby").
    args: Mapping[str, str] = {name: _arg(name, value) for name, value in problem.args}
    english_fix = UI_FIXES.get(code, problem.fix)
    template = _catalog.get(f"problem:{code}") if code else None
    if template is None and code in UI_TEMPLATES:
        template = tr(UI_TEMPLATES[code])
    if template is not None:
        fix_template = _catalog.get(f"problem:{code}:fix")
        try:
            message = template.format(**args)
            fix = fix_template.format(**args) if fix_template is not None else tr(english_fix)
            return message, fix
        except (KeyError, IndexError, ValueError):
            pass  # args that do not fit the template: the English text below
    return tr(problem.message), tr(english_fix)


def _install_qt_translators() -> None:
    """The catalog as a QTranslator, and Qt's own strings (standard buttons) when shipped."""
    try:
        from PySide6.QtCore import QCoreApplication, QLibraryInfo, QTranslator
    except ImportError:
        return
    app = QCoreApplication.instance()
    if app is None:
        return
    for old in _installed:
        QCoreApplication.removeTranslator(old)
    _installed.clear()
    if _language == ENGLISH:
        return

    class CatalogTranslator(QTranslator):
        """Answers ``QCoreApplication.translate`` from the Python catalog."""

        def translate(self, context: str, source: str, disambiguation: str | None = None,
                      n: int = -1) -> str:
            return _catalog.get(source, "")

        def isEmpty(self) -> bool:
            return not _catalog

    catalog = CatalogTranslator(app)
    QCoreApplication.installTranslator(catalog)
    _installed.append(catalog)
    qt_dir = QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)
    qt_base = QTranslator(app)
    if qt_base.load(f"qtbase_{_language}", qt_dir):
        QCoreApplication.installTranslator(qt_base)
        _installed.append(qt_base)
