"""Preferences: the language and the operator's name, hotkeys (conflicts refused), quick
phrases, outputs, audio, inputs (camera and microphone, with a live preview and a level
meter) and OBS.

Secrets typed here stay out of sight: a stream target is listed with its key hidden once
added, and the OBS password field never echoes. The volume acts at once (the operator is
listening); everything else applies on OK.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QKeySequenceEdit,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QSlider,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from studio.core.errors import StudioError
from studio.engine.actions import ACTIONS, QUICK_PHRASE_COUNT, action_by_id, key_conflicts
from studio.inputs import CameraInfo, MicrophoneInfo
from studio.outputs.audio_device import AudioDeviceInfo
from studio.outputs.base import redact
from studio.ui import theme
from studio.ui.i18n import (
    LANGUAGE_NAMES,
    action_description,
    action_title,
    system_language,
    tr,
)
from studio.ui.inputs_panel import InputsPage
from studio.ui.settings import (
    DEFAULT_OBS_URL,
    LANGUAGES,
    MAX_OPERATOR_CHARS,
    OBS_PASSWORD_ENV,
    STREAM_BITRATE_RANGE_KBPS,
    VOLUME_RANGE_PERCENT,
    AudioSettings,
    InputSettings,
    ObsSettings,
    OutputSettings,
    operator_name,
    stream_spec,
)


def portable(sequence: QKeySequence) -> str:
    return sequence.toString(QKeySequence.SequenceFormat.PortableText)


def _error_label() -> QLabel:
    label = QLabel()
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setStyleSheet(f"color: {theme.RED}; background: none; font-weight: 600;")
    label.hide()
    return label


def _note_label(text: str = "") -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setStyleSheet(f"color: {theme.MUTED}; background: none;")
    return label


class SettingsDialog(QDialog):
    """Edit keys, phrases, outputs, audio, inputs and OBS; ``accept`` refuses keys used twice
    and targets, addresses or inputs that cannot work."""

    volume_changed = Signal(float, bool)  # the device's gain (0..2) and mute, while moving
    test_tone_requested = Signal()

    def __init__(self, parent: QWidget | None, keys: dict[str, str],
                 phrases: Sequence[str], reserved: dict[str, str] | None = None, *,
                 outputs: OutputSettings | None = None, audio: AudioSettings | None = None,
                 obs: ObsSettings | None = None,
                 audio_devices: Sequence[AudioDeviceInfo] = (),
                 inputs: InputSettings | None = None,
                 cameras: Sequence[CameraInfo] | None = None,
                 microphones: Sequence[MicrophoneInfo] | None = None,
                 language: str = "system", operator: str = "",
                 operator_override: str = "") -> None:
        """``operator``: the name the settings hold; ``operator_override``: the one
        ``studio app --operator`` gives this run (it wins; the page says so)."""
        super().__init__(parent)
        self._language_before = language if language in LANGUAGES else "system"
        self._operator_before = operator
        self._operator_override = operator_override
        self._reserved = reserved or {}  # menu keys (title -> key) actions may not take
        self._outputs = replace(outputs or OutputSettings())
        self._targets = list(self._outputs.stream_targets)  # raw, keys included: never shown
        self._audio = replace(audio or AudioSettings())
        self._obs = replace(obs or ObsSettings())
        self.setWindowTitle(tr("Preferences"))
        self.resize(720, 560)
        tabs = QTabWidget()

        self.key_edits: dict[str, QKeySequenceEdit] = {}
        table = QTableWidget(len(ACTIONS), 3)
        table.setHorizontalHeaderLabels([tr("Action"), tr("Key"), ""])
        table.verticalHeader().hide()
        table.setSelectionMode(QTableWidget.SelectionMode.NoSelection)
        table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Fixed)
        table.horizontalHeader().resizeSection(1, 200)
        table.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        table.verticalHeader().setDefaultSectionSize(36)
        for row, spec in enumerate(ACTIONS):
            item = QTableWidgetItem(action_title(spec))
            item.setToolTip(action_description(spec))
            item.setFlags(Qt.ItemFlag.ItemIsEnabled)
            table.setItem(row, 0, item)
            edit = QKeySequenceEdit(QKeySequence(keys.get(spec.id, ""),
                                                 QKeySequence.SequenceFormat.PortableText))
            edit.setMaximumSequenceLength(1)
            edit.setClearButtonEnabled(True)
            edit.keySequenceChanged.connect(lambda _seq: self._check())
            table.setCellWidget(row, 1, edit)
            reset = QPushButton(tr("Default"))
            reset.setToolTip(tr("Back to {key}", key=spec.default_key))
            reset.clicked.connect(lambda _=False, e=edit, d=spec.default_key: e.setKeySequence(
                QKeySequence(d, QKeySequence.SequenceFormat.PortableText)))
            table.setCellWidget(row, 2, reset)
            self.key_edits[spec.id] = edit
        reset_all = QPushButton(tr("Reset all keys"))
        reset_all.clicked.connect(self.reset_keys)
        keys_tab = QWidget()
        keys_layout = QVBoxLayout(keys_tab)
        keys_layout.addWidget(table, 1)
        row_layout = QHBoxLayout()
        row_layout.addStretch(1)
        row_layout.addWidget(reset_all)
        keys_layout.addLayout(row_layout)
        tabs.addTab(self._general_tab(), tr("General"))
        tabs.addTab(keys_tab, tr("Keyboard"))

        self.phrase_edits: list[QLineEdit] = []
        phrases_tab = QWidget()
        form = QFormLayout(phrases_tab)
        for n in range(QUICK_PHRASE_COUNT):
            phrase = QLineEdit(phrases[n] if n < len(phrases) else "")
            phrase.setPlaceholderText(tr("(empty: the button is disabled)"))
            self.phrase_edits.append(phrase)
            key = keys.get(f"quick_phrase_{n + 1}", "") or tr("no key")
            form.addRow(f"{n + 1}  ({key})", phrase)
        tabs.addTab(phrases_tab, tr("Quick phrases"))
        self.outputs_page = self._outputs_tab()
        tabs.addTab(self.outputs_page, tr("Outputs"))
        tabs.addTab(self._audio_tab(audio_devices), tr("Audio"))
        self.inputs_page = InputsPage(replace(inputs or InputSettings()), cameras=cameras,
                                      microphones=microphones)
        tabs.addTab(self.inputs_page, tr("Inputs"))
        self.obs_page = self._obs_tab()
        tabs.addTab(self.obs_page, tr("OBS"))
        self.tabs = tabs

        self.error = _error_label()
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.ok_button = buttons.button(QDialogButtonBox.StandardButton.Ok)
        layout = QVBoxLayout(self)
        layout.addWidget(tabs, 1)
        layout.addWidget(self.error)
        layout.addWidget(buttons)

    # -- general -----------------------------------------------------------------------------
    def _general_tab(self) -> QWidget:
        tab = QWidget()
        form = QFormLayout(tab)
        self.language = QComboBox()
        self.language.setObjectName("language")
        system = LANGUAGE_NAMES.get(system_language(), system_language())
        self.language.addItem(tr("System ({language})", language=system), "system")
        for code in LANGUAGES[1:]:
            self.language.addItem(LANGUAGE_NAMES.get(code, code), code)
        self.language.setCurrentIndex(max(0, self.language.findData(self._language_before)))
        form.addRow(tr("Language"), self.language)
        self.language_note = _note_label(tr("The new language shows when the studio starts "
                                            "again; the show on air is not affected."))
        form.addRow(self.language_note)
        self.operator = QLineEdit(self._operator_before)
        self.operator.setObjectName("operator")
        self.operator.setMaxLength(MAX_OPERATOR_CHARS)
        self.operator.setPlaceholderText(tr("your name (empty: none is recorded)"))
        form.addRow(tr("Operator"), self.operator)
        note = tr("Written in the as-run log as who is on air when you take over.")
        if self._operator_override:
            note += " " + tr("This run uses {name}, given with --operator.",
                             name=self._operator_override)
        self.operator_note = _note_label(note)
        form.addRow(self.operator_note)
        return tab

    def operator_setting(self) -> str:
        """The operator's name as typed (one line, spaces collapsed; "" for none)."""
        return operator_name(self.operator.text())

    def language_setting(self) -> str:
        """"system", "en" or "zh_CN": the window's language from the next start."""
        return str(self.language.currentData() or "system")

    # -- outputs -----------------------------------------------------------------------------
    def _outputs_tab(self) -> QWidget:
        o = self._outputs
        tab = QWidget()
        form = QFormLayout(tab)
        self.virtualcam = QCheckBox(tr("Send the program to a virtual camera"))
        self.virtualcam.setChecked(o.virtualcam)
        self.virtualcam_device = QLineEdit(o.virtualcam_device)
        self.virtualcam_device.setPlaceholderText(tr("empty: the first loopback device "
                                                     "(e.g. /dev/video10)"))
        form.addRow(self.virtualcam)
        form.addRow(tr("Camera device"), self.virtualcam_device)

        self.targets_list = QListWidget()
        self.targets_list.setMinimumHeight(90)
        self.target_edit = QLineEdit()
        self.target_edit.setPlaceholderText("udp://HOST:PORT, srt://HOST:PORT, "
                                            "rtmp://HOST/APP/KEY …")
        self.target_edit.returnPressed.connect(self.add_target)
        add = QPushButton(tr("Add"))
        add.clicked.connect(self.add_target)
        remove = QPushButton(tr("Remove"))
        remove.clicked.connect(self.remove_target)
        entry = QHBoxLayout()
        entry.addWidget(self.target_edit, 1)
        entry.addWidget(add)
        entry.addWidget(remove)
        self.targets_error = _error_label()
        targets = QVBoxLayout()
        targets.addWidget(self.targets_list)
        targets.addLayout(entry)
        targets.addWidget(self.targets_error)
        targets.addWidget(_note_label(tr("A stream key is stored in your settings file "
                                         "(readable by you only) and shown hidden from then "
                                         "on.")))
        form.addRow(tr("Stream targets"), targets)
        self._show_targets()

        self.bitrate = QSpinBox()
        self.bitrate.setRange(*STREAM_BITRATE_RANGE_KBPS)
        self.bitrate.setSingleStep(500)
        self.bitrate.setSuffix(" kbps")
        self.bitrate.setValue(o.stream_bitrate_kbps)
        form.addRow(tr("Stream bitrate"), self.bitrate)

        self.record_dir = QLineEdit(o.record_dir)
        self.record_dir.setPlaceholderText(str(Path.home()))
        choose = QPushButton(tr("Choose…"))
        choose.clicked.connect(self._choose_record_dir)
        folder = QHBoxLayout()
        folder.addWidget(self.record_dir, 1)
        folder.addWidget(choose)
        self.record_error = _error_label()
        folder_box = QVBoxLayout()
        folder_box.addLayout(folder)
        folder_box.addWidget(self.record_error)
        form.addRow(tr("Record folder"), folder_box)
        return tab

    def _show_targets(self) -> None:
        self.targets_list.clear()
        for target in self._targets:
            self.targets_list.addItem(redact(target))

    @property
    def shown_targets(self) -> list[str]:
        """What the list shows (keys hidden)."""
        return [self.targets_list.item(i).text() for i in range(self.targets_list.count())]

    def add_target(self) -> bool:
        """Add what is typed; an invalid target stays in the box with the reason below."""
        text = self.target_edit.text().strip()
        if not text:
            return True
        try:
            stream_spec(text, self.bitrate.value())
        except StudioError as exc:
            self.targets_error.setText(str(exc))
            self.targets_error.show()
            return False
        if text in self._targets:
            self.targets_error.setText(tr("{target} is already in the list.",
                                          target=redact(text)))
            self.targets_error.show()
            return False
        self._targets.append(text)
        self.target_edit.clear()
        self.targets_error.hide()
        self._show_targets()
        return True

    def remove_target(self) -> None:
        row = self.targets_list.currentRow()
        if 0 <= row < len(self._targets):
            del self._targets[row]
            self._show_targets()

    def _choose_record_dir(self) -> None:
        path = QFileDialog.getExistingDirectory(self, tr("Record folder"),
                                                self.record_dir.text() or str(Path.home()))
        if path:
            self.record_dir.setText(path)

    def outputs_settings(self) -> OutputSettings:
        return OutputSettings(
            virtualcam=self.virtualcam.isChecked(),
            virtualcam_device=self.virtualcam_device.text().strip(),
            stream_targets=list(self._targets),
            stream_bitrate_kbps=self.bitrate.value(),
            record_dir=self.record_dir.text().strip())

    # -- audio -------------------------------------------------------------------------------
    def _audio_tab(self, devices: Sequence[AudioDeviceInfo]) -> QWidget:
        a = self._audio
        tab = QWidget()
        form = QFormLayout(tab)
        self.audio_enabled = QCheckBox(tr("Play the program audio on this machine"))
        self.audio_enabled.setChecked(a.enabled)
        form.addRow(self.audio_enabled)
        self.audio_device = QComboBox()
        self.audio_device.addItem(tr("System default output"), "")
        for device in devices:
            label = f"{device.name}  ({device.host_api})" + (tr("  · default") if device.default
                                                             else "")
            self.audio_device.addItem(label, device.name)
        if a.device and self.audio_device.findData(a.device) < 0:
            self.audio_device.addItem(tr("{device}  (not found now)", device=a.device),
                                      a.device)
        self.audio_device.setCurrentIndex(max(0, self.audio_device.findData(a.device)))
        form.addRow(tr("Device"), self.audio_device)
        if not devices:
            form.addRow(_note_label(tr("No sound device was found on this machine: the show "
                                       "runs silent here; streams and recordings keep the "
                                       "sound. Virtual cables and null sinks appear here once "
                                       "they exist.")))
        self.volume = QSlider(Qt.Orientation.Horizontal)
        self.volume.setRange(*VOLUME_RANGE_PERCENT)
        self.volume.setValue(a.volume_percent)
        self.volume_label = QLabel()
        self.volume_label.setMinimumWidth(48)
        self.muted = QCheckBox(tr("Mute"))
        self.muted.setChecked(a.muted)
        volume = QHBoxLayout()
        volume.addWidget(self.volume, 1)
        volume.addWidget(self.volume_label)
        volume.addWidget(self.muted)
        form.addRow(tr("Volume"), volume)
        self.volume.valueChanged.connect(lambda _v: self._volume_moved())
        self.muted.toggled.connect(lambda _m: self._volume_moved())
        self._volume_moved(emit=False)
        self.test_tone = QPushButton(tr("Test tone"))
        self.test_tone.setToolTip(tr("A 1 kHz tone for one second on the sound device only"))
        self.test_tone.clicked.connect(lambda: self.test_tone_requested.emit())
        if not devices:
            self.test_tone.setEnabled(False)
            self.test_tone.setToolTip(tr("No sound device to play it on"))
        form.addRow("", self.test_tone)
        form.addRow(_note_label(tr("Volume and mute act on this machine's device only; "
                                   "streams, recordings and the virtual camera keep the "
                                   "program level.")))
        return tab

    def _volume_moved(self, emit: bool = True) -> None:
        self.volume_label.setText(f"{self.volume.value()} %")
        if emit:
            self.volume_changed.emit(self.volume.value() / 100, self.muted.isChecked())

    def audio_settings(self) -> AudioSettings:
        return AudioSettings(enabled=self.audio_enabled.isChecked(),
                             device=str(self.audio_device.currentData() or ""),
                             volume_percent=self.volume.value(),
                             muted=self.muted.isChecked())

    # -- OBS ---------------------------------------------------------------------------------
    def _obs_tab(self) -> QWidget:
        b = self._obs
        tab = QWidget()
        form = QFormLayout(tab)
        self.obs_enabled = QCheckBox(tr("Control OBS Studio when a show goes on air"))
        self.obs_enabled.setChecked(b.enabled)
        form.addRow(self.obs_enabled)
        self.obs_url = QLineEdit(b.url)
        self.obs_url.setPlaceholderText(DEFAULT_OBS_URL)
        self.obs_error = _error_label()
        url = QVBoxLayout()
        url.addWidget(self.obs_url)
        url.addWidget(self.obs_error)
        form.addRow(tr("Address"), url)
        self.obs_password = QLineEdit(b.password)
        self.obs_password.setEchoMode(QLineEdit.EchoMode.Password)
        self.obs_password.setPlaceholderText("OBS ▸ Tools ▸ WebSocket Server Settings")
        form.addRow(tr("Password"), self.obs_password)
        if os.environ.get(OBS_PASSWORD_ENV):
            form.addRow(_note_label(tr("{variable} is set: it is used instead of the "
                                       "password above.", variable=OBS_PASSWORD_ENV)))
        form.addRow(_note_label(tr("The password is stored in your settings file, readable "
                                   "by you only; it never appears in logs or messages.")))
        return tab

    def obs_settings(self) -> ObsSettings:
        return ObsSettings(enabled=self.obs_enabled.isChecked(),
                           url=self.obs_url.text().strip() or DEFAULT_OBS_URL,
                           password=self.obs_password.text())

    def inputs_settings(self) -> InputSettings:
        return self.inputs_page.inputs_settings()

    def done(self, result: int) -> None:
        """OK, Cancel or the close button: the preview's camera and microphone close."""
        self.inputs_page.close_inputs()
        super().done(result)

    def _check_pages(self) -> bool:
        """Targets, folder and OBS address; each error shows next to its field, and the
        first page with one comes to the front."""
        outputs_ok = self.add_target()  # what is typed but not yet added counts
        folder = self.record_dir.text().strip()
        if folder and not Path(folder).expanduser().is_dir():
            self.record_error.setText(tr("{folder} is not a folder; create it or choose "
                                         "another.", folder=folder))
            self.record_error.show()
            outputs_ok = False
        else:
            self.record_error.hide()
        from studio.obs.client import parse_obs_url

        obs_ok = True
        try:
            parse_obs_url(self.obs_url.text() or DEFAULT_OBS_URL)
            self.obs_error.hide()
        except StudioError as exc:
            self.obs_error.setText(str(exc))
            self.obs_error.show()
            obs_ok = False
        inputs_ok = True
        for which in ("camera", "mic"):
            try:
                self.inputs_page.spec(which)
            except StudioError as exc:
                self.inputs_page.fail(which, str(exc))
                inputs_ok = False
        if not outputs_ok:
            self.tabs.setCurrentWidget(self.outputs_page)
        elif not inputs_ok:
            self.tabs.setCurrentWidget(self.inputs_page)
        elif not obs_ok:
            self.tabs.setCurrentWidget(self.obs_page)
        return outputs_ok and obs_ok and inputs_ok

    def keys(self) -> dict[str, str]:
        return {aid: portable(edit.keySequence()) for aid, edit in self.key_edits.items()}

    def key_overrides(self) -> dict[str, str]:
        """Only the keys that differ from the defaults are stored."""
        return {aid: key for aid, key in self.keys().items()
                if key != action_by_id(aid).default_key}

    def quick_phrases(self) -> list[str]:
        return [e.text().strip() for e in self.phrase_edits]

    def set_key(self, action_id: str, key: str) -> None:
        self.key_edits[action_id].setKeySequence(
            QKeySequence(key, QKeySequence.SequenceFormat.PortableText))

    def reset_keys(self) -> None:
        for spec in ACTIONS:
            self.set_key(spec.id, spec.default_key)

    def _check(self) -> bool:
        keys = self.keys()
        reserved = {f"menu:{title}": key for title, key in self._reserved.items()}
        conflicts = key_conflicts({**keys, **reserved})
        if not conflicts:
            self.error.hide()
            self.ok_button.setEnabled(True)
            return True
        lines = []
        for ids in conflicts.values():
            titles = ", ".join(tr("{title} (menu)", title=tr(i.removeprefix("menu:")))
                               if i.startswith("menu:")
                               else action_title(action_by_id(i)) for i in ids)
            shown = keys.get(ids[0]) or reserved.get(ids[0], "")
            lines.append(tr("{key}: used by {titles}", key=shown, titles=titles))
        self.error.setText(tr("Each key can do only one thing:") + "\n" + "\n".join(lines))
        self.error.show()
        return False

    def accept(self) -> None:
        keys_ok = self._check()
        pages_ok = self._check_pages()
        if keys_ok and pages_ok:
            super().accept()
