"""File ▸ New avatar from photo…: the window's ``studio avatar create``.

The operator picks a portrait and the person's consent, builds the avatar and sees its
preview (the viseme set) before anything is saved; Save writes the package with its consent
record, exactly as the command does. Building runs off the GUI thread, so a show on air
keeps its preview and controls meanwhile.
"""

from __future__ import annotations

import getpass
import re
import tempfile
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from studio.core.errors import StudioError
from studio.ui import theme
from studio.ui.i18n import tr

if TYPE_CHECKING:
    from studio.avatar.package import Record
    from studio.avatar.photo import PhotoAvatarData

PREVIEW_MAX_PX = (720, 420)


def _login_name() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return ""


class AvatarDialog(QDialog):
    """After ``exec()`` returns Accepted, ``package`` is the folder written and ``record``
    its consent record."""

    def __init__(self, parent: QWidget | None = None, *, start_dir: Path | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(tr("New avatar from photo"))
        self.setMinimumWidth(640)
        self._start_dir = start_dir or Path.home()
        self.package: Path | None = None
        self.record: Record | None = None
        self._built: PhotoAvatarData | None = None
        self._built_from: Path | None = None
        self._preview_dir: tempfile.TemporaryDirectory[str] | None = None
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="avatar-build")
        self._job: Future[PhotoAvatarData] | None = None
        self._poll = QTimer(self)
        self._poll.setInterval(100)
        self._poll.timeout.connect(self._check_job)

        self.portrait = QLineEdit()
        self.portrait.setPlaceholderText(tr("a front-facing portrait (JPG or PNG)"))
        self.owner = QLineEdit()
        self.owner.setPlaceholderText(tr("the person whose likeness this is"))
        self.consent = QLineEdit()
        self.consent.setPlaceholderText(tr("their signed consent (PDF, image or text)"))
        self.statement = QPlainTextEdit()
        self.statement.setPlaceholderText(tr("or the consent statement, in words"))
        self.statement.setFixedHeight(60)
        self.created_by = QLineEdit(_login_name())
        self.registration_id = QLineEdit()
        self.registration_id.setPlaceholderText(tr("optional: the platform's virtual-anchor "
                                                   "registration ID"))
        self.out = QLineEdit()
        self.out.setPlaceholderText(tr("a new folder for the package"))
        form = QFormLayout()
        form.addRow(tr("Portrait"), self._with_browse(self.portrait, self._pick_portrait))
        form.addRow(tr("Likeness of"), self.owner)
        form.addRow(tr("Consent document"), self._with_browse(self.consent, self._pick_consent))
        form.addRow(tr("Consent statement"), self.statement)
        form.addRow(tr("Created by"), self.created_by)
        form.addRow(tr("Registration ID"), self.registration_id)
        form.addRow(tr("Save to"), self._with_browse(self.out, self._pick_out))

        self.build_button = QPushButton(tr("Build preview"))
        self.build_button.clicked.connect(self.build_preview)
        self.preview = QLabel(tr("The preview of the viseme set appears here."))
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.preview.setMinimumHeight(200)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.hide()

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.save_button = self.buttons.button(QDialogButtonBox.StandardButton.Save)
        self.save_button.setText(tr("Save avatar"))
        self.save_button.setObjectName("primary")
        self.save_button.setEnabled(False)
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        self.portrait.textChanged.connect(self._portrait_changed)

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.build_button, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(self.preview, 1)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)

    def _with_browse(self, field: QLineEdit, slot: object) -> QHBoxLayout:
        row = QHBoxLayout()
        row.addWidget(field, 1)
        browse = QPushButton(tr("Browse…"))
        browse.clicked.connect(lambda _=False: slot())  # type: ignore[operator]
        row.addWidget(browse)
        return row

    # -- picking -------------------------------------------------------------------------------
    def _pick_portrait(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, tr("Portrait"), str(self._start_dir),
                                              tr("Images ({patterns})",
                                                 patterns="*.jpg *.jpeg *.png"))
        if path:
            self.portrait.setText(path)

    def _pick_consent(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, tr("Consent document"),
                                              str(self._start_dir))
        if path:
            self.consent.setText(path)

    def _pick_out(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, tr("Save to"), str(self._start_dir))
        if path:
            self.out.setText(path)

    def _portrait_changed(self, text: str) -> None:
        """Another photo: the preview shown is not its avatar any more."""
        if self._built_from is not None and Path(text.strip()) != self._built_from:
            self._built = None
            self._built_from = None
            self.save_button.setEnabled(False)
            self.preview.setPixmap(QPixmap())
            self.preview.setText(tr("The preview of the viseme set appears here."))
        if text.strip() and not self.out.text().strip():
            portrait = Path(text.strip())
            self.out.setText(str(portrait.with_name(
                re.sub(r"[^\w-]+", "-", portrait.stem).strip("-") + "-avatar")))

    def _say(self, text: str, *, error: bool) -> None:
        self.message.setStyleSheet(f"color: {theme.RED if error else theme.GREEN}; "
                                   "background: none;")
        self.message.setText(text)
        self.message.show()

    # -- building --------------------------------------------------------------------------------
    @property
    def building(self) -> bool:
        return self._job is not None

    @property
    def preview_ready(self) -> bool:
        return self._built is not None

    def build_preview(self) -> None:
        text = self.portrait.text().strip()
        if not text:
            self._say(tr("Choose a portrait first."), error=True)
            return
        if self._job is not None:
            return
        from studio.avatar.photo import build_photo_avatar

        portrait = Path(text).expanduser()
        self._built = None
        self.save_button.setEnabled(False)
        self.build_button.setEnabled(False)
        self._say(tr("Building the avatar…"), error=False)
        self._job = self._pool.submit(build_photo_avatar, portrait)
        self._job_portrait = portrait
        self._poll.start()

    def _check_job(self) -> None:
        job = self._job
        if job is None or not job.done():
            return
        self._poll.stop()
        self._job = None
        self.build_button.setEnabled(True)
        try:
            data = job.result()
        except StudioError as exc:  # a poor photo: what is wrong, what to take instead
            self._say(str(exc), error=True)
            return
        except Exception as exc:  # shown, never a crash of the window
            self._say(tr("The avatar could not be built: {error}", error=str(exc)), error=True)
            return
        if self._preview_dir is not None:
            self._preview_dir.cleanup()
        self._preview_dir = tempfile.TemporaryDirectory(prefix="livehost-avatar-preview-")
        data.save(Path(self._preview_dir.name))
        pixmap = QPixmap(str(Path(self._preview_dir.name) / "preview.png"))
        if not pixmap.isNull():
            pixmap = pixmap.scaled(*PREVIEW_MAX_PX, Qt.AspectRatioMode.KeepAspectRatio,
                                   Qt.TransformationMode.SmoothTransformation)
        self.preview.setPixmap(pixmap)
        self._built = data
        self._built_from = self._job_portrait
        self.save_button.setEnabled(True)
        self._say(tr("Check the mouth shapes, then save the avatar with its consent."),
                  error=False)

    # -- saving ----------------------------------------------------------------------------------
    def save(self) -> None:
        from studio.avatar.package import create_package

        if self._built is None or self._built_from is None:
            self._say(tr("Build the preview first."), error=True)
            return
        if not self.owner.text().strip():
            self._say(tr("Name the person whose likeness this is."), error=True)
            return
        if not self.created_by.text().strip():
            self._say(tr("Name who is creating the avatar."), error=True)
            return
        consent = self.consent.text().strip()
        statement = self.statement.toPlainText().strip()
        if not consent and not statement:
            self._say(tr("This likeness has no consent: choose the consent document signed "
                         "by the person in the photo, or write their consent statement."),
                      error=True)
            return
        if not self.out.text().strip():
            self._say(tr("Choose where to save the package."), error=True)
            return
        out = Path(self.out.text().strip()).expanduser()
        try:
            self.record = create_package(
                self._built_from, owner=self.owner.text(),
                consent=Path(consent).expanduser() if consent else None, out=out,
                created_by=self.created_by.text(),
                registration_id=self.registration_id.text().strip() or None,
                statement=statement or None, built=self._built)
        except StudioError as exc:
            self._say(str(exc), error=True)
            return
        except OSError as exc:
            self._say(tr("The package could not be written: {error}", error=str(exc)),
                      error=True)
            return
        self.package = out.resolve()
        self.accept()

    def done(self, result: int) -> None:
        self._poll.stop()
        self._pool.shutdown(wait=False, cancel_futures=True)
        if self._preview_dir is not None:
            self._preview_dir.cleanup()
            self._preview_dir = None
        super().done(result)


def new_avatar_from_photo(parent: QWidget, start_dir: Path | None = None) -> Path | None:
    """The dialog, then where the package is and how a show names it; the package or None."""
    dialog = AvatarDialog(parent, start_dir=start_dir)
    if dialog.exec() != QDialog.DialogCode.Accepted or dialog.package is None:
        return None
    QMessageBox.information(
        parent, tr("New avatar from photo"),
        tr("The avatar package is saved in {folder}, with its consent record (ID {record}).\n"
           "To put it on air, name it in the show file: [host] avatar = \"{folder}\"",
           folder=str(dialog.package),
           record=dialog.record.record_id if dialog.record is not None else ""))
    return dialog.package
