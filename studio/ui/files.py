"""File menu work: open (validated first), save with queue edits, recent files, recording.

A show file that fails validation opens nothing: whatever is on air stays on air, and the
operator sees every problem at once, each with its line and field.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QMenu, QMessageBox

from studio.core.errors import StudioError
from studio.engine.commands import StartRecording, StopRecording
from studio.engine.preflight import on_air_problems
from studio.show.loader import ShowFileError, load_show
from studio.show.writer import write_show
from studio.ui.i18n import N_, tr

if TYPE_CHECKING:
    from studio.ui.main_window import StudioWindow

SHOW_FILTER = N_("Show files (*.toml);;All files (*)")


class ShowFiles:
    """Owns the File menu's actions; talks to the window, never to widgets of other panels."""

    def __init__(self, window: StudioWindow) -> None:
        self.window = window
        self.recent_menu: QMenu | None = None
        self.recording = False
        self.last_dialog: QMessageBox | None = None  # the newest error dialog (tests read it)

    def build_menu(self, menu: QMenu) -> None:
        w = self.window

        def add(title: str, slot: object, key: str = "") -> QAction:
            action = QAction(title, w)
            if key:
                action.setShortcut(QKeySequence(key))
            action.triggered.connect(lambda _=False: slot())  # type: ignore[operator]
            menu.addAction(action)
            return action

        self.open_action = add(tr("Open show…"), self.choose_and_open, "Ctrl+O")
        self.demo_action = add(tr("Open demo show"), self.open_demo)
        self.recent_menu = menu.addMenu(tr("Open recent"))
        menu.addSeparator()
        add(tr("New avatar from photo…"), self.new_avatar)
        menu.addSeparator()
        self.save_action = add(tr("Save"), self.save, "Ctrl+S")
        self.save_as_action = add(tr("Save as…"), self.save_as, "Ctrl+Shift+S")
        menu.addSeparator()
        menu.addAction(w.registry.actions["record"])
        menu.addSeparator()
        self.close_action = add(tr("Close show"), w.close_show)
        add(tr("Quit"), w.confirm_quit, "Ctrl+Q")
        self.update_recent_menu()

    def new_avatar(self) -> None:
        from studio.ui.avatar_dialog import new_avatar_from_photo

        path = self.window.show_path
        new_avatar_from_photo(self.window, path.parent if path is not None else None)

    # -- opening -----------------------------------------------------------------------------
    def choose_and_open(self) -> None:
        start = str(self.window.show_path.parent) if self.window.show_path else ""
        path, _ = QFileDialog.getOpenFileName(self.window, tr("Open show"), start,
                                              tr(SHOW_FILTER))
        if path:
            self.open_show(Path(path), ask=True)

    def open_demo(self) -> None:
        try:
            from studio.paths import demo_show_path

            self.open_show(demo_show_path(), ask=True)
        except StudioError as exc:
            self.error_dialog(tr("The demo show is missing"), str(exc))

    def open_show(self, path: Path, *, ask: bool = False) -> bool:
        """Load and validate ``path``; only a valid show replaces what is on air.

        ``ask`` (the menu's ways in): a show on air, or its unsaved run-down edits, are
        asked about first; "No" or "Cancel" leaves everything as it was."""
        try:
            # The same refusals as `studio run`: a voice that is not there, a likeness
            # without consent on record, before anything on air is touched.
            show = load_show(path, checks=on_air_problems)
        except ShowFileError as exc:
            count = len(exc.problems)
            self.error_dialog(
                tr("{name} has {count} problems; nothing was opened", name=path.name,
                   count=count) if count != 1 else
                tr("{name} has 1 problem; nothing was opened", name=path.name),
                "\n".join(f"• {p}" for p in exc.problems)
                + "\n\n" + tr("Fix the file and open it again. What is on air keeps running."))
            return False
        except StudioError as exc:
            self.error_dialog(tr("{name} could not be opened", name=path.name), str(exc))
            return False
        if ask and not self.window.confirm_end_show("open", path.name):
            return False
        if not self.window.start_show(show, path):
            return False
        self.window.settings.add_recent(path)
        self.update_recent_menu()
        self.window.save_settings()
        return True

    def update_recent_menu(self) -> None:
        menu = self.recent_menu
        if menu is None:
            return
        menu.clear()
        recent = self.window.settings.recent_files
        for number, text in enumerate(recent, start=1):
            action = menu.addAction(f"&{number % 10}  {text}")
            action.triggered.connect(lambda _=False, p=text: self.open_show(Path(p), ask=True))
        if not recent:
            menu.addAction(tr("(none yet)")).setEnabled(False)
        else:
            menu.addSeparator()
            menu.addAction(tr("Clear list"), self._clear_recent)

    def _clear_recent(self) -> None:
        self.window.settings.recent_files = []
        self.update_recent_menu()

    # -- saving ------------------------------------------------------------------------------
    def save(self) -> bool:
        path = self.window.show_path
        if path is None:
            return self.save_as()
        return self.save_to(path)

    def save_as(self) -> bool:
        if self.window.engine is None:
            self.window.statusBar().showMessage(tr("Nothing to save: no show is open."), 5000)
            return False
        start = str(self.window.show_path or "show.toml")
        path, _ = QFileDialog.getSaveFileName(self.window, tr("Save show as"), start,
                                              tr(SHOW_FILTER))
        if not path:
            return False
        target = Path(path) if Path(path).suffix else Path(path).with_suffix(".toml")
        if not self.save_to(target):
            return False
        self.window.show_path = target
        self.window.settings.add_recent(target)
        self.update_recent_menu()
        return True

    def save_to(self, path: Path) -> bool:
        """Write the show as it is now, queue edits included (the engine serialises it)."""
        engine = self.window.engine
        if engine is None:
            self.window.statusBar().showMessage(tr("Nothing to save: no show is open."), 5000)
            return False
        try:
            show = engine.show
            # The file it came from is kept as written (comments, order, preset names);
            # only what was edited changes.
            write_show(show, path, original=self.window.show_path)
        except (StudioError, OSError, ValueError) as exc:
            self.error_dialog(tr("Could not save {name}", name=path.name), str(exc))
            return False
        self.window.saved_show = show
        self.window.statusBar().showMessage(tr("Saved {path}", path=path), 5000)
        return True

    # -- recording ---------------------------------------------------------------------------
    def set_recording(self, recording: bool, *, force: bool = False) -> None:
        """Mirror the engine's recording state on the action (menu text, toolbar check)."""
        action = self.window.registry.actions["record"]
        action.setCheckable(True)
        if not force and recording == self.recording and action.isChecked() == recording:
            return
        self.recording = recording
        action.setChecked(recording)
        action.setText(tr("Stop recording") if recording else tr("Start recording…"))
        key = self.window.registry.key_text("record")
        label = tr("● REC: stop") if recording else tr("Record")
        action.setIconText(f"{label}   {key}" if key else label)

    def toggle_recording(self) -> None:
        w = self.window
        if w.engine is None:
            w.send(StopRecording())  # reports "no show on air"
            return
        if self.recording:
            w.send(StopRecording())
            self.set_recording(False)
            return
        self.set_recording(False, force=True)  # the checkable action flipped itself on click
        folder = w.settings.outputs.record_dir or w.settings.last_record_dir or str(Path.home())
        name = f"livehost-{time.strftime('%Y%m%d-%H%M%S')}.mp4"
        path, _ = QFileDialog.getSaveFileName(w, tr("Record program to"),
                                              str(Path(folder) / name), tr("MP4 video (*.mp4)"))
        if path:
            self.start_recording(Path(path))

    def start_recording(self, path: Path) -> None:
        target = path if path.suffix.lower() == ".mp4" else path.with_suffix(".mp4")
        self.window.settings.last_record_dir = str(target.parent)
        if self.window.send(StartRecording(target)):
            self.set_recording(True)

    # -- messages ----------------------------------------------------------------------------
    def error_dialog(self, title: str, details: str) -> QMessageBox:
        """A non-modal message: the show and its hotkeys (modal dialogs block them) keep working."""
        box = QMessageBox(QMessageBox.Icon.Warning, tr("LiveHost Studio"), title,
                          QMessageBox.StandardButton.Ok, self.window)
        box.setInformativeText(details)
        box.setMinimumWidth(560)
        box.setWindowModality(Qt.WindowModality.NonModal)
        box.show()
        self.last_dialog = box
        return box
