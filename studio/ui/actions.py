"""Qt actions built from ``studio.engine.actions.ACTIONS``: one table drives every control.

Shortcuts are application-wide so the takeover key works whatever has focus (a dialog, the
queue, the prompter). Single printable keys (like "?") are the exception: while the operator
types in a text field those keys are text, not commands (see ``TypingGuard``).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QAction, QKeyEvent, QKeySequence
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QComboBox,
    QKeySequenceEdit,
    QLineEdit,
    QPlainTextEdit,
    QTextEdit,
    QWidget,
)

from studio.engine.actions import ACTIONS, Action
from studio.engine.commands import Command
from studio.ui.guard import report_exception
from studio.ui.i18n import action_description, action_title

HELP_EXTRA_KEY = "F1"  # help also answers to F1 unless the user bound F1 to something else
_TEXT_INPUTS = (QLineEdit, QPlainTextEdit, QTextEdit, QAbstractSpinBox, QKeySequenceEdit)
_COMMAND_MODIFIERS = (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier
                      | Qt.KeyboardModifier.MetaModifier)


def is_text_input(widget: QObject | None) -> bool:
    if isinstance(widget, QComboBox):
        return widget.isEditable()
    if isinstance(widget, QLineEdit | QPlainTextEdit | QTextEdit):
        return not widget.isReadOnly()
    return isinstance(widget, _TEXT_INPUTS)


class TypingGuard(QObject):
    """App-wide event filter: a printable key without Ctrl/Alt is text in a text field.

    Qt asks the focus widget first (ShortcutOverride); accepting it hands the key to the
    widget instead of a shortcut. F-keys and Ctrl-combinations still work while typing.
    """

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ShortcutOverride and is_text_input(watched):
            assert isinstance(event, QKeyEvent)
            if isinstance(watched, QKeySequenceEdit):  # recording a key: every key is input
                event.accept()
                return True
            text = event.text()
            if text and text.isprintable() and not (event.modifiers() & _COMMAND_MODIFIERS):
                event.accept()
                return True
        return False


class ActionRegistry(QObject):
    """One QAction per ACTIONS entry; commands go to ``send``, the rest to ``handlers``."""

    def __init__(self, owner: QWidget, send: Callable[[Command], object],
                 handlers: dict[str, Callable[[], None]]) -> None:
        super().__init__(owner)
        self._send = send
        self._handlers = handlers
        self.actions: dict[str, QAction] = {}
        self.keys: dict[str, str] = {}
        self._specs = {a.id: a for a in ACTIONS}
        for spec in ACTIONS:
            action = QAction(action_title(spec), owner)
            action.setObjectName(f"action_{spec.id}")
            action.setStatusTip(action_description(spec))
            action.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)
            action.triggered.connect(lambda _checked=False, s=spec: self.trigger(s.id))
            owner.addAction(action)
            self.actions[spec.id] = action

    def spec(self, action_id: str) -> Action:
        return self._specs[action_id]

    def apply_keys(self, keys: dict[str, str]) -> None:
        """Bind the effective keys (see ``effective_keys``); an empty key means unbound."""
        self.keys = dict(keys)
        used = {k.lower() for k in keys.values() if k}
        for action_id, action in self.actions.items():
            key = keys.get(action_id, "")
            sequences = [QKeySequence(key, QKeySequence.SequenceFormat.PortableText)] if key else []
            if action_id == "help" and HELP_EXTRA_KEY.lower() not in used:
                sequences.append(QKeySequence(HELP_EXTRA_KEY))
            action.setShortcuts(sequences)
            spec = self._specs[action_id]
            native = self.key_text(action_id)
            title, description = action_title(spec), action_description(spec)
            action.setToolTip(f"{title} ({native})\n{description}" if key else description)
            short = title.split(" (")[0].split("（")[0]
            action.setIconText(f"{short}   {native}" if key else short)  # toolbar buttons

    def trigger(self, action_id: str) -> None:
        """Run an action as its key or button would; errors become messages."""
        spec = self._specs[action_id]
        try:
            handler = self._handlers.get(action_id)  # the window's own wins (the takeover
            if handler is not None:                  # key goes to the mode in the settings)
                handler()
            elif spec.command is not None:
                self._send(spec.command())
        except Exception as exc:
            report_exception(exc, action_title(spec))

    def key_text(self, action_id: str) -> str:
        """The key as the user's platform writes it (e.g. "Ctrl+→" stays readable)."""
        key = self.keys.get(action_id, "")
        if not key:
            return ""
        return QKeySequence(key, QKeySequence.SequenceFormat.PortableText).toString(
            QKeySequence.SequenceFormat.NativeText)
