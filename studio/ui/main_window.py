"""The operator's studio window: preview in the middle, panels in docks around it.

This module only wires things together: each panel is its own module, every control comes
from the ACTIONS table, and every operator intent becomes a command for the engine.

Each show the window puts on air is watched by the supervisor (``studio.engine.supervisor``),
as ``studio run`` is: it restarts a voice worker, renderer or output that fails, then the
engine, and its Problems reach the banner through the engine. With an as-run folder, each
show on air also keeps its as-run log (``studio.engine.asrun``), which the window ends and
writes out when the show goes off air, whether it ran or failed to start.
"""

from __future__ import annotations

import base64
import functools
import logging
import platform
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, cast

from PySide6.QtCore import QByteArray, QSize, Qt
from PySide6.QtGui import QAction, QCloseEvent, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QScrollArea,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from studio.avatar.base import avatar_notices
from studio.engine.actions import QUICK_PHRASE_COUNT, effective_keys, quick_phrases_for
from studio.engine.commands import (
    AddOutput,
    Command,
    GoToProduct,
    Interject,
    PinProduct,
    PlayTestTone,
    RemoveOutput,
    ReorderQueue,
    SetAudioVolume,
    SetCamera,
    SetCrossfade,
    SetMicrophone,
    SetSkipped,
    SetStandbyImage,
    ToggleTakeover,
    UpsertProduct,
)
from studio.engine.events import (
    FrameDelivered,
    InputsChanged,
    ModeChanged,
    OutputsChanged,
    Problem,
    SentenceStarted,
    ShowEnded,
    Status,
)
from studio.inputs import InputSpec
from studio.outputs.base import OutputSpec, redact
from studio.program.queue import ProductStatus
from studio.program.switcher import DEFAULT_CROSSFADE_S, Mode
from studio.show.model import Show
from studio.show.writer import show_data
from studio.ui import theme
from studio.ui.actions import ActionRegistry, TypingGuard
from studio.ui.bridge import NO_SHOW, Engine, EngineBridge, no_show_problem
from studio.ui.files import ShowFiles
from studio.ui.guard import guarded, report_exception, set_reporter
from studio.ui.help_overlay import HelpOverlay
from studio.ui.i18n import N_, problem_text, set_language, tr
from studio.ui.interject_panel import InterjectPanel
from studio.ui.level_meter import ProgramMeter
from studio.ui.obs_panel import ObsPanel, obs_summary
from studio.ui.outputs_panel import OutputsPanel
from studio.ui.preview import PreviewWidget
from studio.ui.product_dialog import ProductDialog
from studio.ui.program_window import ProgramWindow
from studio.ui.queue_panel import QueuePanel
from studio.ui.settings import InputSettings, Settings, SettingsStore, list_audio_devices
from studio.ui.settings_dialog import SettingsDialog
from studio.ui.status_panel import Overlay, ProblemBanner, RunDownEnd, StatusPanel, mode_pill
from studio.ui.takeover_panel import TakeoverPanel
from studio.ui.teleprompter import TeleprompterPanel

if TYPE_CHECKING:
    from studio.engine.asrun import AsRunLog
    from studio.engine.live import LiveEngine
    from studio.engine.supervisor import Supervisor, Thresholds
    from studio.obs.controller import ObsController
    from studio.obs.setup import ObsProgramSource
    from studio.obs.state import ObsState

_LOG = logging.getLogger("studio.ui")

EngineFactory = Callable[[Show, Path | None], Engine]
STATE_VERSION = 1
START_FAILED = ("show.start_failed", "engine.start_failed")  # the engine gave up starting
NON_COMMERCIAL_AVATAR = "avatar.licence_non_commercial"  # AvatarNotice.code of such terms
# What ending the show on air is for, as the question asks it (title, question).
END_SHOW_QUESTIONS: dict[str, tuple[str, str]] = {
    "open": (N_("Open another show"),
             N_("“{title}” is on air. Opening {name} ends this broadcast (a recording is "
                "finished and kept).")),
    "close": (N_("Close the show"),
              N_("“{title}” is on air. Closing it ends the broadcast (a recording is "
                 "finished and kept).")),
    "quit": (N_("Quit LiveHost Studio"),
             N_("“{title}” is on air. Quitting stops the program output (a recording is "
                "finished and kept).")),
}
UNSAVED_QUESTION = N_("Its run-down has edits that are not saved (products added or "
                      "edited, a new order). Save them first?")
GO_ON = {"open": N_("Stop the show on air and open {name}?"),
         "close": N_("Go off air?"), "quit": N_("Stop the show and quit?")}
SILENT_NOTE = N_("No sound device here: the show runs silent on this machine; streams and "
               "recordings keep the sound (Settings ▸ Audio)")


def default_virtualcam_device() -> str:
    """The camera OBS reads when the settings name none: the device installers/
    v4l2loopback.sh creates on Linux, OBS's own virtual camera elsewhere."""
    return "/dev/video10" if platform.system() == "Linux" else "OBS Virtual Camera"


@dataclass(frozen=True, slots=True)
class EngineInputs:
    """What a show goes on air with besides its outputs: the human's camera and microphone
    (None: none) and the crossfade of a switch between modes."""

    camera: InputSpec | None = None
    mic: InputSpec | None = None
    crossfade_s: float = DEFAULT_CROSSFADE_S


def live_engine_factory(width_px: int = 1280, height_px: int = 720,
                        fps: Fraction = Fraction(30),
                        audio_device: str | None = None, *,
                        outputs: Callable[[], Sequence[OutputSpec]] | None = None,
                        inputs: Callable[[], EngineInputs] | None = None
                        ) -> EngineFactory:
    """The real engine; imported lazily so the window opens fast and tests can swap it.

    ``outputs`` is asked for the output list each time a show goes on air (the window passes
    ``StudioWindow.output_specs``). Without it, ``audio_device`` alone plays the program
    audio there, and the device's clock paces the show. ``inputs`` likewise gives the
    camera, microphone and crossfade (``StudioWindow.engine_inputs``).
    """

    def make(show: Show, path: Path | None) -> Engine:
        from studio.engine.live import LiveEngine

        if outputs is not None:
            specs = list(outputs())
        else:
            specs = [] if audio_device is None else [OutputSpec("audio", audio_device)]
        wanted = inputs() if inputs is not None else EngineInputs()
        return LiveEngine(show, width_px=width_px, height_px=height_px, fps=fps, show_path=path,
                          outputs=specs, camera=wanted.camera, mic=wanted.mic,
                          crossfade_s=wanted.crossfade_s)

    return make


class StudioWindow(QMainWindow):
    """One show at a time; opening another stops the old engine cleanly first."""

    def __init__(self, store: SettingsStore | None = None, *,
                 engine_factory: EngineFactory | None = None,
                 audio_device: str | None = None, camera: str | None = None,
                 mic: str | None = None, as_run_dir: Path | None = None,
                 operator: str = "") -> None:
        """``as_run_dir``: where each show on air keeps its as-run log (None: none);
        ``operator`` (``studio app --operator``) names the person at the desk for this run
        and wins over Settings ▸ General ▸ Operator."""
        super().__init__()
        self.setWindowTitle(tr("LiveHost Studio"))
        self.setObjectName("StudioWindow")
        self.store = store or SettingsStore()
        self.settings: Settings = self.store.load()
        # The language is chosen before any widget is built: every label is made in it.
        self.language = set_language(self.settings.language)
        self.audio_device = audio_device  # `studio app --audio-device`: wins over settings
        self.camera_override = camera  # likewise a camera or microphone given on the command
        self.mic_override = mic  # line (not saved: the settings keep their own choice)
        self.as_run_dir = as_run_dir
        self.operator_override = " ".join(operator.split())
        self.as_run: AsRunLog | None = None  # the as-run log of the show on air
        self.supervisor: Supervisor | None = None  # watches the engine on air (a LiveEngine)
        self.supervisor_thresholds: Thresholds | None = None  # None: the supervisor's own
        self.engine_factory = engine_factory or live_engine_factory(
            outputs=self.output_specs, inputs=self.engine_inputs)
        self.bridge = EngineBridge(self)
        self.show_path: Path | None = None
        self.last_status: Status | None = None
        self.notes: list[str] = []  # quiet notes shown in the status bar (not problems)
        self.obs: ObsController | None = None  # while a show is on air with OBS enabled
        # Where the show is: "off", "starting" (no frame yet), "live", "ended" (the run-down
        # is finished, the host idle on air) or "failed" (the engine gave up starting).
        self.air_state = "off"
        self.saved_show: Show | None = None  # the show as opened or last saved (edits: diff)
        self._ended_at: int | None = None  # ShowEnded's end, until the program reaches it
        self._last_pts = -1

        self.banner = ProblemBanner()
        self.run_down_end = RunDownEnd()
        set_reporter(lambda message, fix: self.banner.show_problem(Problem(message, fix)))
        self.preview = PreviewWidget()
        self.program_title = QLabel(tr("PROGRAM"))
        self.program_title.setObjectName("sectionTitle")
        self.program_state = QLabel()
        self.program_state.setTextFormat(Qt.TextFormat.RichText)
        self.queue = QueuePanel()
        self.teleprompter = TeleprompterPanel()
        self.takeover = TakeoverPanel()
        self.interject = InterjectPanel()
        self.outputs_panel = OutputsPanel()
        self.obs_panel = ObsPanel()
        self.meter = ProgramMeter()
        self.program_window = ProgramWindow()
        self._build_central()
        self._build_docks()
        self.status_panel = StatusPanel(self.statusBar())
        self.status_panel.set_obs("", theme.MUTED)

        self.files = ShowFiles(self)
        handlers: dict[str, Callable[[], None]] = {
            "go_now": self.go_now, "record": self.files.toggle_recording,
            "help": self.toggle_help, "takeover": self.toggle_takeover}
        for n in range(1, QUICK_PHRASE_COUNT + 1):
            handlers[f"quick_phrase_{n}"] = functools.partial(self.say_quick_phrase, n)
        self.registry = ActionRegistry(self, self.send, handlers)
        self.help_overlay = HelpOverlay(self)
        self._typing_guard = TypingGuard(self)
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self._typing_guard)
        self._build_toolbar()
        self._build_menus()
        self._connect()
        self.apply_settings()
        self.takeover.set_live(False)
        for warning in self.store.warnings:
            self.banner.show_problem(Problem(warning, "", "warning"))

    # -- layout ------------------------------------------------------------------------------
    def _build_central(self) -> None:
        header = QHBoxLayout()
        header.setContentsMargins(4, 0, 4, 0)
        header.addWidget(self.program_title)
        header.addStretch(1)
        header.addWidget(self.program_state)
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(6)
        layout.addLayout(header)
        layout.addWidget(self.preview, 1)
        layout.addWidget(self.meter)
        self.setCentralWidget(central)
        # The banners float over the preview's top edge: showing one resizes nothing.
        self.overlay = Overlay(self.preview, self.banner, self.run_down_end)
        self._set_program_state(None)

    def _dock(self, title: str, name: str, widget: QWidget,
              area: Qt.DockWidgetArea, *, scroll: bool = False) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        if scroll:  # a short dock scrolls instead of squashing its rows together
            area_widget = QScrollArea()
            area_widget.setWidgetResizable(True)
            area_widget.setFrameShape(QScrollArea.Shape.NoFrame)
            area_widget.setWidget(widget)
            dock.setWidget(area_widget)
        else:
            dock.setWidget(widget)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                         | QDockWidget.DockWidgetFeature.DockWidgetFloatable
                         | QDockWidget.DockWidgetFeature.DockWidgetClosable)
        self.addDockWidget(area, dock)
        return dock

    def _build_docks(self) -> None:
        self.setCorner(Qt.Corner.BottomLeftCorner, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.RightDockWidgetArea)
        left, right = Qt.DockWidgetArea.LeftDockWidgetArea, Qt.DockWidgetArea.RightDockWidgetArea
        self.takeover_dock = self._dock(tr("Takeover"), "takeover_dock", self.takeover, left)
        self.queue_dock = self._dock(tr("Run-down"), "queue_dock", self.queue, left)
        self.prompter_dock = self._dock(tr("Teleprompter"), "teleprompter_dock", self.teleprompter,
                                        right)
        self.interject_dock = self._dock(tr("Interjections"), "interject_dock", self.interject,
                                         Qt.DockWidgetArea.BottomDockWidgetArea)
        self.outputs_dock = self._dock(tr("Outputs"), "outputs_dock", self.outputs_panel, right)
        self.obs_dock = self._dock(tr("OBS"), "obs_dock", self.obs_panel, right, scroll=True)
        self.tabifyDockWidget(self.outputs_dock, self.obs_dock)
        self.outputs_dock.raise_()
        self.docks = [self.takeover_dock, self.queue_dock, self.prompter_dock,
                      self.interject_dock, self.outputs_dock, self.obs_dock]
        self.resizeDocks([self.takeover_dock, self.queue_dock], [290, 520],
                         Qt.Orientation.Vertical)
        self.resizeDocks([self.queue_dock, self.prompter_dock], [400, 500],
                         Qt.Orientation.Horizontal)
        self.resizeDocks([self.interject_dock], [200], Qt.Orientation.Vertical)
        self.resizeDocks([self.prompter_dock, self.outputs_dock], [560, 220],
                         Qt.Orientation.Vertical)
        self._default_state = self.saveState(STATE_VERSION)

    def _build_toolbar(self) -> None:
        bar = QToolBar(tr("Show controls"))
        bar.setObjectName("controls_toolbar")
        bar.setMovable(False)
        bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        for action_id in ("pause_resume", "next_product", "skip_sentence", "interrupt",
                          "go_now", "record"):
            bar.addAction(self.registry.actions[action_id])
        bar.addSeparator()
        bar.addAction(self.registry.actions["help"])
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, bar)
        self.toolbar = bar

    def _build_menus(self) -> None:
        menu = self.menuBar()
        file = menu.addMenu(tr("&File"))
        self.files.build_menu(file)
        show = menu.addMenu(tr("&Show"))
        for action_id in ("takeover", "mode_ai", "mode_human", "mode_puppet",
                          "calibrate_face"):
            show.addAction(self.registry.actions[action_id])
        show.addSeparator()
        for action_id in ("pause_resume", "next_product", "skip_sentence", "interrupt",
                          "go_now"):
            show.addAction(self.registry.actions[action_id])
        phrases = show.addMenu(tr("Quick phrases"))
        for n in range(1, QUICK_PHRASE_COUNT + 1):
            phrases.addAction(self.registry.actions[f"quick_phrase_{n}"])
        show.addSeparator()
        show.addAction(tr("Add product…"), self.add_product)
        show.addAction(tr("Standby picture…"), self.takeover._pick)
        view = menu.addMenu(tr("&View"))
        for dock in self.docks:
            view.addAction(dock.toggleViewAction())
        view.addSeparator()
        self.program_window_action = QAction(tr("Program window"), self)
        self.program_window_action.setCheckable(True)
        self.program_window_action.setToolTip(tr("A borderless window with exactly the program "
                                                 "picture, for OBS Window Capture"))
        self.program_window_action.toggled.connect(self.show_program_window)
        view.addAction(self.program_window_action)
        view.addSeparator()
        view.addAction(tr("Reset layout"), self.reset_layout)
        settings = menu.addMenu(tr("Se&ttings"))
        prefs = QAction(tr("Preferences…"), self)
        prefs.setShortcut(QKeySequence("Ctrl+,"))
        prefs.triggered.connect(lambda: self.open_preferences())
        settings.addAction(prefs)
        help_menu = menu.addMenu(tr("&Help"))
        help_menu.addAction(self.registry.actions["help"])
        self.menu_keys = {N_("Open show"): "Ctrl+O", N_("Save"): "Ctrl+S",
                          N_("Save as"): "Ctrl+Shift+S", N_("Quit"): "Ctrl+Q",
                          N_("Preferences"): "Ctrl+,"}  # English keys: shown with tr()

    def _connect(self) -> None:
        b = self.bridge
        b.frame_delivered.connect(self._on_frame)
        b.sentence_started.connect(self._on_sentence)
        b.script_shown.connect(self.teleprompter.show_script)
        b.queue_changed.connect(lambda e: self.queue.set_entries(e.entries))
        b.status_changed.connect(self._on_status)
        b.mode_changed.connect(self._on_mode)
        b.inputs_changed.connect(self._on_inputs)
        b.problem.connect(self._on_problem)
        b.show_ended.connect(self._on_show_ended)
        self.run_down_end.restart_requested.connect(self.restart_run_down)
        self.run_down_end.off_air_requested.connect(lambda: self.close_show(ask_on_air=False))
        b.engine_changed.connect(self._on_engine_changed)
        b.outputs_changed.connect(self._on_outputs)
        b.audio_meter.connect(self.meter.set_level)
        b.obs_state.connect(self._on_obs_state)
        b.frame_delivered.connect(self.program_window.set_frame)
        self.outputs_panel.start_requested.connect(lambda spec: self.send(AddOutput(spec)))
        self.outputs_panel.stop_requested.connect(lambda spec: self.send(RemoveOutput(spec)))
        self.meter.mute_toggled.connect(self.set_muted)
        self.program_window.closed.connect(lambda: self.program_window_action.setChecked(False))
        o = self.obs_panel
        o.setup_requested.connect(lambda: self._obs_call("setup"))
        o.streaming_requested.connect(
            lambda on: self._obs_call("start_streaming" if on else "stop_streaming"))
        o.recording_requested.connect(
            lambda on: self._obs_call("start_recording" if on else "stop_recording"))
        q = self.queue
        q.reorder_requested.connect(lambda ids: self.send(ReorderQueue(tuple(ids))))
        q.go_requested.connect(lambda pid, now: self.send(GoToProduct(pid, now)))
        q.skip_requested.connect(lambda pid, skip: self.send(SetSkipped(pid, skip)))
        q.pin_requested.connect(lambda pid: self.send(PinProduct(pid)))
        q.add_requested.connect(self.add_product)
        q.edit_requested.connect(self.edit_product)
        self.interject.interject_requested.connect(
            lambda text, interrupt: self.send(Interject(text, interrupt)))
        self.interject.quick_phrase_requested.connect(self.say_quick_phrase)
        self.takeover.toggle_requested.connect(lambda: self.registry.trigger("takeover"))
        self.takeover.mode_requested.connect(
            lambda mode: self.registry.trigger(f"mode_{mode}"))
        self.takeover.calibrate_requested.connect(
            lambda: self.registry.trigger("calibrate_face"))
        self.takeover.crossfade_changed.connect(self.set_crossfade)
        self.takeover.standby_image_requested.connect(self.set_standby_image)
        tp = self.teleprompter
        for signal in (tp.font_size.valueChanged, tp.mirror.toggled, tp.manual.toggled,
                       tp.speed.valueChanged):
            signal.connect(lambda *_: self._store_teleprompter())

    # -- settings ----------------------------------------------------------------------------
    def apply_settings(self) -> None:
        """Push settings into the widgets (keys, phrases, prompter, layout)."""
        s = self.settings
        self.apply_settings_keys()
        tp, t = self.teleprompter, replace(s.teleprompter)  # setters write back: use a copy
        tp.font_size.setValue(t.font_size)
        tp.mirror.setChecked(t.mirror)
        tp.manual.setChecked(t.manual)
        tp.speed.setValue(t.scroll_speed_px_s)
        self.takeover.set_standby(Path(s.standby_image) if s.standby_image else None)
        self.apply_input_settings()
        self.files.update_recent_menu()
        self.apply_output_settings()
        if s.window_geometry:
            self.restoreGeometry(QByteArray(base64.b64decode(s.window_geometry)))
        else:
            self.resize(self.default_size())
        if s.window_state:
            self.restoreState(QByteArray(base64.b64decode(s.window_state)), STATE_VERSION)

    def default_size(self) -> QSize:
        """1600x900, or the screen's free area where it is smaller (a 1280x720 screen)."""
        size = QSize(1600, 900)
        screen = self.screen() or QGuiApplication.primaryScreen()
        if screen is not None:
            size = size.boundedTo(screen.availableGeometry().size())
        return size.expandedTo(self.minimumSizeHint())

    def _store_teleprompter(self) -> None:
        tp, t = self.teleprompter, self.settings.teleprompter
        t.font_size = tp.font_size.value()
        t.mirror = tp.mirror.isChecked()
        t.manual = tp.manual.isChecked()
        t.scroll_speed_px_s = tp.speed.value()

    def save_settings(self) -> None:
        self._store_teleprompter()
        self.settings.window_geometry = base64.b64encode(
            bytes(self.saveGeometry().data())).decode()
        self.settings.window_state = base64.b64encode(
            bytes(self.saveState(STATE_VERSION).data())).decode()
        try:
            self.store.save(self.settings)
        except OSError as exc:
            self.banner.show_problem(Problem(tr("Could not save settings: {error}", error=exc),
                                             tr("Check that {folder} is writable",
                                                folder=self.store.directory)))

    @guarded
    def open_preferences(self) -> SettingsDialog:
        """Opens non-blocking; the returned dialog applies itself when accepted."""
        s = self.settings
        dialog = SettingsDialog(self, effective_keys(s.key_overrides), s.quick_phrases,
                                self.menu_keys, outputs=s.outputs, audio=s.audio, obs=s.obs,
                                audio_devices=list_audio_devices(), inputs=s.inputs,
                                language=s.language, operator=s.operator,
                                operator_override=self.operator_override)
        dialog.volume_changed.connect(self._send_volume)
        dialog.test_tone_requested.connect(lambda: self.send(PlayTestTone()))

        def accepted() -> None:
            obs_before = replace(s.obs)
            s.key_overrides = dialog.key_overrides()
            s.quick_phrases = dialog.quick_phrases()
            s.outputs = dialog.outputs_settings()
            s.audio = dialog.audio_settings()
            s.obs = dialog.obs_settings()
            language, s.language = s.language, dialog.language_setting()
            if s.language != language:
                self.note(tr("The language changes when the studio starts again."))
            s.operator = dialog.operator_setting()
            if self.as_run is not None:  # the show on air: later takeovers name who is here now
                self.as_run.operator = self.operator_name()
            inputs_before, s.inputs = s.inputs, dialog.inputs_settings()
            self.apply_input_settings()
            self.send_input_changes(inputs_before, s.inputs)
            self.apply_settings_keys()
            self.apply_output_settings()
            if s.obs != obs_before and self.engine is not None:
                self._start_obs(self.engine)  # the new address or password, now
            self.save_settings()

        def rejected() -> None:
            self._send_volume(s.audio.volume, s.audio.muted)  # undo what the slider did

        dialog.accepted.connect(accepted)
        dialog.rejected.connect(rejected)
        dialog.show()  # non-modal: a modal dialog would block the takeover key
        return dialog

    def operator_name(self) -> str:
        """Who is at the desk, for the as-run log: ``--operator`` if given, else the
        settings' name ("" when neither names anyone)."""
        return self.operator_override or self.settings.operator

    def output_specs(self) -> list[OutputSpec]:
        """What a show goes on air with (the settings, and ``--audio-device`` if given)."""
        return self.settings.output_specs(audio_device=self.audio_device)

    def apply_output_settings(self) -> None:
        """Outputs panel rows, the meter's mute, and the OBS panel's hint."""
        self.outputs_panel.set_targets(self.output_specs())
        self.meter.set_muted(self.settings.audio.muted)
        if self.obs is None:
            self.obs_panel.set_available(False, self._obs_hint())

    def apply_settings_keys(self) -> None:
        """Rebind shortcuts and relabel everything that shows a key or a phrase."""
        keys = effective_keys(self.settings.key_overrides)
        self.registry.apply_keys(keys)
        self.help_overlay.set_keys({k: self.registry.key_text(k) for k in keys})
        self.interject.set_phrases(self.quick_phrases(), [self.registry.key_text(
            f"quick_phrase_{n}") for n in range(1, QUICK_PHRASE_COUNT + 1)])
        self.takeover.set_key(self.registry.key_text("takeover"), {
            mode: self.registry.key_text(f"mode_{mode}") for mode in ("ai", "human", "puppet")})
        self.files.set_recording(self.files.recording, force=True)  # relabel with the new key

    def apply_input_settings(self) -> None:
        """The takeover panel shows the stored takeover mode and crossfade."""
        i = self.settings.inputs
        self.takeover.set_takeover_mode(i.takeover_mode)
        self.takeover.set_crossfade(i.crossfade_s)

    def engine_inputs(self) -> EngineInputs:
        """The camera, microphone and crossfade a show goes on air with (the settings); a
        camera or microphone the settings cannot name is left out with a warning."""
        i = replace(self.settings.inputs)
        if self.camera_override is not None:
            i.camera = self.camera_override
        if self.mic_override is not None:
            i.microphone = self.mic_override
        return EngineInputs(self._input_spec(i, "camera"), self._input_spec(i, "microphone"),
                            i.crossfade_s)

    def _input_spec(self, i: InputSettings, which: str) -> InputSpec | None:
        try:
            return i.camera_spec() if which == "camera" else i.microphone_spec()
        except Exception as exc:
            what = tr("camera") if which == "camera" else tr("microphone")
            self.banner.show_problem(Problem(
                tr("The {which} in the settings cannot be used: {error}", which=what,
                   error=exc),
                N_("Choose it again in Settings ▸ Preferences ▸ Inputs"), "warning"))
            return None

    def send_input_changes(self, before: InputSettings, after: InputSettings) -> None:
        """Tell the running show what changed: the camera, the microphone, the crossfade."""
        if self.engine is None:
            return
        if after.camera != before.camera:
            self.send(SetCamera(self._input_spec(after, "camera")))
        if after.microphone != before.microphone:
            self.send(SetMicrophone(self._input_spec(after, "microphone")))
        if after.crossfade_s != before.crossfade_s:
            self.send(SetCrossfade(after.crossfade_s))

    def set_crossfade(self, seconds: float) -> None:
        """The takeover panel's crossfade: kept in the settings, sent to the show."""
        seconds = round(float(seconds), 3)
        if seconds == self.settings.inputs.crossfade_s:
            return
        self.settings.inputs.crossfade_s = seconds
        self.takeover.set_crossfade(seconds)
        if self.engine is not None:
            self.send(SetCrossfade(seconds))

    def toggle_takeover(self) -> None:
        """F9 / the big button: AI ⇄ the takeover mode the settings name."""
        self.send(ToggleTakeover(Mode(self.settings.inputs.takeover_mode)))

    def reset_layout(self) -> None:
        self.restoreState(self._default_state, STATE_VERSION)
        for dock in self.docks:
            dock.show()

    # -- engine lifecycle --------------------------------------------------------------------
    @property
    def engine(self) -> Engine | None:
        return self.bridge.engine

    def open_show(self, path: Path) -> bool:
        """Validate, then put the show on air; a bad file changes nothing (see ShowFiles)."""
        return self.files.open_show(path)

    def start_show(self, show: Show, path: Path | None) -> bool:
        """Stop what is on air, then start ``show``. False (with a message) if it cannot."""
        QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            self.stop_show()
            try:
                specs = self.output_specs()
                engine = self.engine_factory(show, path)
                self.as_run = self._as_run_for(engine)  # its run_start: before anything runs
                self.bridge.attach(engine)
                if self.settings.standby_image:
                    engine.send(SetStandbyImage(Path(self.settings.standby_image)))
                audio = self.settings.audio
                if (audio.volume, audio.muted) != (1.0, False):
                    engine.send(SetAudioVolume(audio.volume, audio.muted))
                self.outputs_panel.set_targets(specs)
                self._start_obs(engine)
                self.supervisor = self._supervisor_for(engine)  # it listens from the start
                engine.start()
            except Exception as exc:
                _LOG.exception("the show could not go on air")
                self.stop_show(failed=f"the show could not go on air: {exc}")
                self.files.error_dialog(tr("The show could not go on air"), str(exc))
                return False
            if self.supervisor is not None:
                self.supervisor.start()  # it watches an engine that runs
        finally:
            QApplication.restoreOverrideCursor()
        self.show_path = path
        self.saved_show = show
        if self.settings.audio.enabled and not any(s.kind == "audio" for s in specs):
            self.note(tr(SILENT_NOTE))
        title = show.show.title
        self.setWindowTitle(f"{title} — {tr('LiveHost Studio')}"
                            + (f" ({path.name})" if path else ""))
        self.program_title.setText(f"{tr('PROGRAM')} · {title}")
        self.apply_settings_keys()  # the quick phrases follow the show's language
        self.show_avatar_notices(show)
        return True

    def stop_show(self, *, failed: str = "") -> None:
        """Take the show off air: the supervisor first (it must not restart what is being
        stopped), OBS, the engine (a recording is finished), then the as-run log is written
        out. ``failed``: why the show could not go on air (its engine never ran)."""
        supervisor, self.supervisor = self.supervisor, None
        if supervisor is not None:
            supervisor.stop()
        self._stop_obs()
        self.bridge.detach()
        run_log, self.as_run = self.as_run, None
        if run_log is not None:
            # An engine that ran has ended the run itself (its RunEnded: ok, or failed and
            # why), and this only waits for the records to be written; one that never
            # started, or did not stop, has not: its run ends here, failed.
            run_log.close(failed or "the engine did not stop when the show went off air",
                          status="failed")

    def _as_run_for(self, engine: Engine) -> AsRunLog | None:
        """The as-run log of ``engine``'s run (with an as-run folder): its first record now,
        each takeover naming ``operator_name``; problems writing it reach the banner."""
        if self.as_run_dir is None:
            return None
        from studio.engine.asrun import AsRunLog, LiveSource

        run_log = AsRunLog(self.as_run_dir)
        run_log.attach(cast(LiveSource, engine), source="app", operator=self.operator_name())
        return run_log

    def _supervisor_for(self, engine: Engine) -> Supervisor | None:
        """A supervisor for the real engine (as ``studio run`` has); an engine of another
        kind (a test's) has none. Not started yet: ``start_show`` starts it once the engine
        runs."""
        live = sys.modules.get("studio.engine.live")  # not imported: no LiveEngine exists
        if live is None or not isinstance(engine, live.LiveEngine):
            return None
        from studio.engine.supervisor import Supervisor

        return Supervisor(cast("LiveEngine", engine), self.supervisor_thresholds)

    def close_show(self, *, ask_on_air: bool = True) -> bool:
        """File ▸ Close show / Go off air: asks first while on air, and for unsaved edits."""
        if not self.confirm_end_show("close", ask_on_air=ask_on_air):
            return False
        self.stop_show()
        return True

    def has_unsaved_edits(self) -> bool:
        """The show on air differs from the file as opened or last saved (run-down edits)."""
        engine, saved = self.engine, self.saved_show
        if engine is None or saved is None:
            return False
        try:
            return show_data(engine.show) != show_data(saved)
        except Exception:  # an engine that cannot say: assume there is work to keep
            _LOG.exception("cannot compare the show on air with the saved one")
            return True

    def confirm_end_show(self, action: str, name: str = "", *, ask_on_air: bool = True) -> bool:
        """Before ``action`` ("open", "close", "quit") ends the show on air: True to go on.

        Unsaved run-down edits get Save / Discard / Cancel (Save writes them first, and a
        save that fails or is cancelled cancels); otherwise a show on air gets Yes / No."""
        if self.engine is None:
            return True
        on_air = self.air_state != "failed"
        unsaved = self.has_unsaved_edits()
        if not unsaved and not (on_air and ask_on_air):
            return True
        title_key, question_key = END_SHOW_QUESTIONS[action]
        title = self.saved_show.show.title if self.saved_show is not None else ""
        lines = [tr(question_key, title=title, name=name)] if on_air else []
        buttons = QMessageBox.StandardButton
        if unsaved:
            lines.append(tr(UNSAVED_QUESTION))
            answer = QMessageBox.question(self, tr(title_key), "\n\n".join(lines),
                                          buttons.Save | buttons.Discard | buttons.Cancel,
                                          buttons.Save)
            if answer == buttons.Save:
                return self.files.save()
            return answer == buttons.Discard
        lines.append(tr(GO_ON[action], name=name))
        answer = QMessageBox.question(self, tr(title_key), "\n\n".join(lines),
                                      buttons.Yes | buttons.No, buttons.No)
        return answer == buttons.Yes

    def show_avatar_notices(self, show: Show) -> None:
        """What the show's avatar must tell the operator though it may go on air (a neural
        model's licence, as ``studio check`` says it): terms that rule out commercial use as
        a warning in the banner, any other licence as a note in the status bar."""
        self.banner.withdraw(NON_COMMERCIAL_AVATAR)  # the show before may have had one
        for notice in avatar_notices(show.host, show.base_dir):
            problem = Problem(notice.text, "", "warning", code=notice.code, args=notice.args)
            if notice.warning:
                self.banner.show_problem(problem)
            else:
                self.note(problem_text(problem)[0])

    def note(self, text: str) -> None:
        """A quiet note in the status bar, once: something to know, not a problem."""
        if text in self.notes:
            return
        self.notes.append(text)
        _LOG.info("%s", text)
        self.statusBar().showMessage(text, 30_000)

    def send(self, command: Command) -> bool:
        return self.bridge.send(command)

    # -- engine events -----------------------------------------------------------------------
    def _on_engine_changed(self, attached: bool) -> None:
        self.air_state = "starting" if attached else "off"
        self._ended_at, self._last_pts = None, -1
        self.run_down_end.hide()
        if attached:
            self.takeover.set_starting()
        else:
            self.takeover.set_live(False)
        self.outputs_panel.set_live(attached)
        self.meter.reset()
        if not attached:
            self.program_window.clear()
        if attached:
            self.preview.placeholder = tr("Starting the show…")
            self.preview.placeholder_hint = tr("The first frame appears in a moment")
            self.preview.clear()
            self._set_program_state(None)
            return
        self.preview.placeholder = tr("No show on air")
        self.preview.placeholder_hint = tr("File ▸ Open show… (Ctrl+O)   ·   "
                                           "File ▸ Open demo show")
        self.preview.clear()
        self.teleprompter.clear()
        self.queue.set_entries(())
        self.status_panel.clear()
        self.last_status = None
        self.saved_show = None
        self.program_title.setText(tr("PROGRAM"))
        self.setWindowTitle(tr("LiveHost Studio"))
        self._set_program_state(None)

    def _on_frame(self, frame: FrameDelivered) -> None:
        self._last_pts = frame.pts_samples
        if self.air_state in ("starting", "failed"):
            self._went_live()
        self.preview.set_frame(frame)
        self.teleprompter.view.set_playhead(frame.pts_samples)
        if self._ended_at is not None and frame.pts_samples >= self._ended_at:
            self._enter_ended()

    def _went_live(self) -> None:
        """The first frame is out: the show is on air (and "no show on air" no longer holds)."""
        self.air_state = "live"
        self.takeover.set_live(True)
        self.takeover.set_mode(self.last_status.mode if self.last_status else self.takeover.mode)
        self.banner.withdraw(NO_SHOW)
        self._set_program_state(self.last_status)

    def _on_sentence(self, sentence: SentenceStarted) -> None:
        self._ended_at = None  # something is said again (an interjection, a new round)
        if self.air_state == "ended":
            self._leave_ended()
        self.teleprompter.view.sentence_started(sentence)

    def _on_status(self, status: Status) -> None:
        self.last_status = status
        self.status_panel.update(status, idle=self.air_state == "ended")
        self.teleprompter.update_status(status)
        if status.mode != self.takeover.mode:
            self.takeover.set_mode(status.mode)
        self.files.set_recording(status.recording)
        self._set_program_state(status)

    def _on_mode(self, event: ModeChanged) -> None:
        self.takeover.on_mode_changed(event)
        self.takeover.add_log(event, self.bridge.sample_rate_hz)
        self.teleprompter.view.set_resume(event.resume if event.mode != Mode.AI.value else None)
        if self.last_status is not None:  # the pills now, not at the next status
            self.last_status = replace(self.last_status, mode=event.mode)
            self.status_panel.update(self.last_status, idle=self.air_state == "ended")
            self._set_program_state(self.last_status)

    def _on_inputs(self, event: InputsChanged) -> None:
        self.takeover.set_inputs(event)

    def _on_problem(self, problem: Problem) -> None:
        self.banner.show_problem(problem)
        if problem.code in START_FAILED and self.engine is not None \
                and self.air_state == "starting":
            self.air_state = "failed"  # nothing went on air: no LIVE, nothing to take over
            self.takeover.set_failed()
            self.outputs_panel.set_live(False)
            self.status_panel.clear()
            self._set_program_state(None)
        if self.engine is not None and self.preview.last_shown_frame_index < 0:
            self.preview.placeholder = tr("The show did not start")
            self.preview.placeholder_hint = problem_text(problem)[1] or tr("See the message above")
            self.preview.update()

    def _on_outputs(self, event: OutputsChanged) -> None:
        self.outputs_panel.set_health(event.outputs)

    # -- audio -------------------------------------------------------------------------------
    def _send_volume(self, volume: float, muted: bool) -> None:
        if self.engine is not None:
            self.send(SetAudioVolume(volume, muted))

    def set_muted(self, muted: bool) -> None:
        """The meter's mute: this machine's sound device only; kept in the settings."""
        self.settings.audio.muted = muted
        self.meter.set_muted(muted)
        self._send_volume(self.settings.audio.volume, muted)

    # -- the program window ------------------------------------------------------------------
    def show_program_window(self, visible: bool = True) -> ProgramWindow:
        w = self.program_window
        if visible and not w.isVisible():
            w.show()
            w.update()
        elif not visible and w.isVisible():
            w.close()
        if self.program_window_action.isChecked() != visible:
            self.program_window_action.setChecked(visible)
        return w

    # -- OBS ---------------------------------------------------------------------------------
    def _obs_hint(self) -> str:
        if not self.settings.obs.enabled:
            return tr("OBS is off: turn it on in Settings ▸ Preferences ▸ OBS.")
        return tr("OBS connects when a show goes on air.")

    def obs_program_source(self) -> ObsProgramSource | None:
        """Where OBS takes the program from: the virtual camera if on, else the first
        udp:// stream target; None when there is neither (Set up OBS then says so)."""
        from studio.obs.setup import ObsProgramSource

        o = self.settings.outputs
        if o.virtualcam:
            return ObsProgramSource(virtualcam_device=o.virtualcam_device.strip()
                                    or default_virtualcam_device())
        udp = next((t for t in o.stream_targets if t.lower().startswith("udp://")), "")
        return ObsProgramSource(stream_url=udp) if udp else None

    def _start_obs(self, engine: Engine) -> None:
        """Connect to OBS for this show (when enabled); a failure is a warning, not a stop."""
        self._stop_obs()
        b = self.settings.obs
        if not b.enabled:
            self.obs_panel.set_available(False, self._obs_hint())
            return
        try:
            from studio.obs.client import parse_obs_url
            from studio.obs.controller import ObsController

            host, port = parse_obs_url(b.url)
            controller = ObsController(host, port, b.effective_password(),
                                       program=self.obs_program_source())
            self.bridge.attach_obs(controller)
            controller.attach(cast("LiveEngine", engine))  # it only subscribes
        except Exception as exc:
            self.bridge.detach_obs()
            message = redact(str(exc))
            _LOG.warning("OBS controller not started: %s", message)
            self.banner.show_problem(Problem(tr("OBS cannot be controlled: {error}", error=message),
                                             N_("Check Settings ▸ Preferences ▸ OBS; the show "
                                                "goes on without OBS"), "warning"))
            self.obs_panel.set_available(False, tr("OBS is not connected (see the message)."))
            return
        self.obs = controller
        self.obs_panel.set_available(True, "")

    def _stop_obs(self) -> None:
        controller, self.obs = self.obs, None
        self.bridge.detach_obs()
        if controller is not None:
            try:
                controller.close()
            except Exception as exc:
                report_exception(exc, N_("Closing the OBS connection"))
        self.obs_panel.set_available(False, self._obs_hint())
        self.status_panel.set_obs("", theme.MUTED)

    def _obs_call(self, method: str) -> None:
        """One of the controller's non-blocking calls (setup, start_streaming…)."""
        if self.obs is None:
            self.statusBar().showMessage(self._obs_hint(), 5000)
            return
        try:
            getattr(self.obs, method)()
        except Exception as exc:
            _LOG.error("OBS %s failed", method)
            report_exception(exc, N_("OBS did not do it"))

    def _on_obs_state(self, state: ObsState) -> None:
        if self.obs is None:
            return
        self.obs_panel.set_state(state)
        self.status_panel.set_obs(*obs_summary(state))

    def _on_show_ended(self, event: ShowEnded) -> None:
        """The engine has nothing more to say; the window says so once the program gets
        there (the last sentence and its card's fade are still going out)."""
        self._ended_at = event.end_samples
        if self._last_pts >= event.end_samples:
            self._enter_ended()

    def _enter_ended(self) -> None:
        self._ended_at = None
        if self.air_state == "ended":
            return
        self.air_state = "ended"
        self.run_down_end.show()
        self.teleprompter.finish()
        self.statusBar().showMessage(tr("The run-down is finished; the host stays on air, idle."),
                                     15000)
        if self.last_status is not None:
            self.status_panel.update(self.last_status, idle=True)
        self._set_program_state(self.last_status)

    def _leave_ended(self) -> None:
        self.air_state = "live"
        self.run_down_end.hide()
        if self.last_status is not None:
            self.status_panel.update(self.last_status)
        self._set_program_state(self.last_status)

    def restart_run_down(self) -> bool:
        """From the top: the first product of the run-down that is not skipped, now."""
        first = next((e.product_id for e in self.queue.model.entries
                      if e.status != ProductStatus.SKIPPED), None)
        if first is None:
            self.statusBar().showMessage(tr("Every product is skipped: un-skip one in the "
                                            "run-down first."), 5000)
            return False
        if not self.send(GoToProduct(first, now=True)):
            return False
        self._ended_at = None
        if self.air_state == "ended":
            self._leave_ended()
        return True

    def _set_program_state(self, status: Status | None) -> None:
        def pill(text: str, color: str) -> str:
            return (f"<span style='background:{color}; color:white; font-weight:800;'>"
                    f"&nbsp;{text}&nbsp;</span>")

        state = self.air_state
        if state == "starting":
            self.program_state.setText(pill(tr("STARTING…"), theme.AMBER))
            return
        if state == "failed":
            self.program_state.setText(pill(tr("DID NOT START"), theme.RED_DARK))
            return
        if status is None or state == "off":
            self.program_state.setText(pill(tr("OFF AIR"), "#4a4f5c"))
            return
        if state == "ended":  # on air, but the run-down is over: idle, not "LIVE"
            parts = [pill(tr("ON AIR · IDLE (run-down finished)"), theme.AMBER)]
        else:
            parts = [pill(tr("● LIVE"), theme.RED)]  # the program is live, whoever is on air
        if status.paused:
            parts.append(pill(tr("PAUSED"), theme.AMBER))
        parts.append(mode_pill(status.mode))
        if status.recording:
            parts.append(pill(tr("REC"), theme.RED_DARK))
        self.program_state.setText(" ".join(parts))

    # -- operator intents --------------------------------------------------------------------
    def quick_phrases(self) -> list[str]:
        """The saved quick phrases, the untouched defaults in the language of the show."""
        language = self.saved_show.show.language if self.saved_show is not None else "en"
        return quick_phrases_for(self.settings.quick_phrases, language)

    def say_quick_phrase(self, number: int) -> None:
        phrases = self.quick_phrases()
        text = phrases[number - 1].strip() if 0 < number <= len(phrases) else ""
        if text:
            self.send(Interject(text))

    def go_now(self) -> None:
        pid = self.queue.selected_id()
        if pid is None:
            self.statusBar().showMessage(tr("Select a product in the run-down first."), 5000)
            return
        self.send(GoToProduct(pid, now=True))

    def toggle_help(self) -> None:
        self.help_overlay.toggle()

    @guarded
    def set_standby_image(self, path: Path | None) -> bool:
        """Checked the way the engine reads it first: a picture it would refuse is neither
        sent nor saved (the standby picture stays as it was, and the banner says why)."""
        if path is not None:
            from studio.compose.standby import render_standby
            from studio.core.errors import StudioError

            try:
                render_standby(32, 18, path)
            except StudioError:
                self.banner.show_problem(Problem(
                    tr("The standby picture {name} cannot be used: it is not a readable "
                       "image", name=path.name),
                    tr("Choose a PNG or JPEG file; the standby picture stays as it was"),
                    "warning"))
                return False
        self.settings.standby_image = str(path) if path else ""
        self.takeover.set_standby(path)
        if self.engine is not None:
            self.send(SetStandbyImage(path))
        return True

    def _product_dialog(self, product_id: str | None) -> ProductDialog | None:
        engine = self.engine
        if engine is None:
            self.banner.show_problem(no_show_problem())
            return None
        show = engine.show
        product = show.product(product_id) if product_id else None
        dialog = ProductDialog(self, product, base_dir=show.base_dir,
                               taken_ids={p.id for p in show.products})
        dialog.accepted.connect(lambda: self._upsert(dialog))
        dialog.show()  # non-modal: the show and its hotkeys stay in reach
        return dialog

    @guarded
    def add_product(self) -> ProductDialog | None:
        return self._product_dialog(None)

    @guarded
    def edit_product(self, product_id: str) -> ProductDialog | None:
        return self._product_dialog(product_id)

    def _upsert(self, dialog: ProductDialog) -> None:
        product = dialog.product()
        if product is not None:
            self.send(UpsertProduct(product))

    # -- shutdown ----------------------------------------------------------------------------
    def confirm_quit(self) -> None:
        """File ▸ Quit: asks first while a show is on air (quitting ends the broadcast)."""
        if not self.confirm_end_show("quit"):
            return
        self._quitting = True
        self.close()

    def closeEvent(self, event: QCloseEvent) -> None:
        asked, self._quitting = getattr(self, "_quitting", False), False
        if event.spontaneous() and not asked and not self.confirm_end_show("quit"):
            event.ignore()  # the title bar's close button, answered No or Cancel
            return
        self.save_settings()
        self.stop_show()
        self.program_window.close()
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self._typing_guard)
        set_reporter(None)
        event.accept()
