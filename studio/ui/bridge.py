"""Carries engine events onto the GUI thread and operator commands back to the engine.

The engine calls subscribers on its own thread, and Qt widgets may only be touched on the
GUI thread, so events go into a thread-safe queue that a ~60 Hz QTimer drains into typed
Qt signals. Preview frames are the exception: only the newest is kept, so a slow GUI drops
previews instead of holding up (or piling up behind) the engine. OBS's controller reports on
its own thread too; its states take the same road (``attach_obs``).
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from PySide6.QtCore import QObject, QTimer, Signal

from studio.engine.commands import Command
from studio.engine.events import (
    AudioMeter,
    Event,
    FrameDelivered,
    InputsChanged,
    ModeChanged,
    OutputsChanged,
    Problem,
    QueueChanged,
    ScriptShown,
    SentenceStarted,
    ShowEnded,
    Status,
)
from studio.show.model import Show
from studio.ui.guard import report_exception
from studio.ui.i18n import N_

_LOG = logging.getLogger("studio.ui")

DRAIN_INTERVAL_MS = 16
MAX_EVENTS_PER_DRAIN = 500  # a flood (e.g. after a stall) is spread over a few ticks


NO_SHOW = "ui.no_show"  # the code of "no show is on air": withdrawn when a show goes on air


def no_show_problem() -> Problem:
    return Problem(N_("No show is on air."), N_("Open a show first (File ▸ Open show…)"),
                   "warning", code=NO_SHOW)


class Engine(Protocol):
    """What the window needs from ``studio.engine.live.LiveEngine``."""

    def subscribe(self, callback: Callable[[Event], None]) -> None: ...
    def send(self, command: Command) -> None: ...
    def start(self) -> None: ...
    def stop(self) -> None: ...
    @property
    def show(self) -> Show: ...
    def save_show(self, path: Path) -> None: ...
    @property
    def sample_rate_hz(self) -> int: ...


class ObsLink(Protocol):
    """What the bridge needs from ``studio.obs.controller.ObsController``."""

    def subscribe(self, callback: Callable[[Any], None]) -> None: ...
    @property
    def state(self) -> Any: ...


class EngineBridge(QObject):
    """One per window; ``attach`` a started-or-not engine, ``detach`` stops it."""

    queue_changed = Signal(object)  # QueueChanged
    script_shown = Signal(object)  # ScriptShown
    sentence_started = Signal(object)  # SentenceStarted
    frame_delivered = Signal(object)  # FrameDelivered (the newest only)
    mode_changed = Signal(object)  # ModeChanged
    inputs_changed = Signal(object)  # InputsChanged
    status_changed = Signal(object)  # Status
    problem = Signal(object)  # Problem
    show_ended = Signal(object)  # ShowEnded
    outputs_changed = Signal(object)  # OutputsChanged
    audio_meter = Signal(object)  # AudioMeter
    obs_state = Signal(object)  # studio.obs.controller.ObsState
    engine_changed = Signal(bool)  # True: an engine is attached

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._engine: Engine | None = None
        self._generation = 0  # events from a detached engine are dropped by generation
        self._events: queue.SimpleQueue[tuple[int, Event]] = queue.SimpleQueue()
        self._frame_lock = threading.Lock()
        self._latest_frame: tuple[int, FrameDelivered] | None = None
        self.frames_received = 0  # every FrameDelivered the engine sent (tests, diagnostics)
        self._obs_generation = 0
        self._obs_states: queue.SimpleQueue[tuple[int, Any]] = queue.SimpleQueue()
        self.previews_dropped = 0
        self._timer = QTimer(self)
        self._timer.setInterval(DRAIN_INTERVAL_MS)
        self._timer.timeout.connect(self.drain)
        self._timer.start()

    @property
    def engine(self) -> Engine | None:
        return self._engine

    @property
    def sample_rate_hz(self) -> int:
        return self._engine.sample_rate_hz if self._engine is not None else 48000

    def attach(self, engine: Engine) -> None:
        """Subscribe to ``engine`` (call before ``engine.start()`` to miss nothing)."""
        if self._engine is not None:
            self.detach()
        self._generation += 1
        generation = self._generation

        def on_event(event: Event) -> None:  # engine thread: no Qt here
            if isinstance(event, FrameDelivered):
                with self._frame_lock:
                    if self._latest_frame is not None:
                        self.previews_dropped += 1
                    self._latest_frame = (generation, event)
                    self.frames_received += 1
            else:
                self._events.put((generation, event))

        engine.subscribe(on_event)
        self._engine = engine
        self.engine_changed.emit(True)

    def detach(self) -> None:
        """Stop the engine (cleanly: it finishes a recording) and forget its events."""
        engine, self._engine = self._engine, None
        self._generation += 1
        if engine is None:
            return
        try:
            engine.stop()
        except Exception as exc:
            report_exception(exc, N_("Stopping the show"))
        self.drain()  # throws away what the old engine still had queued
        self.engine_changed.emit(False)

    def attach_obs(self, controller: ObsLink) -> None:
        """Follow an OBS controller: its states (on its thread) become ``obs_state`` signals
        on the GUI thread. A newer ``attach_obs`` or ``detach_obs`` silences the old one."""
        self._obs_generation += 1
        generation = self._obs_generation

        def on_state(state: Any) -> None:  # the controller's thread: no Qt here
            self._obs_states.put((generation, state))

        controller.subscribe(on_state)
        self._obs_states.put((generation, controller.state))  # what it knew before we listened

    def detach_obs(self) -> None:
        self._obs_generation += 1

    def send(self, command: Command) -> bool:
        """Hand a command to the engine; False (with a message) when nothing is on air."""
        engine = self._engine
        if engine is None:
            self.problem.emit(no_show_problem())
            return False
        try:
            engine.send(command)
        except Exception as exc:
            _LOG.error("sending %s failed", type(command).__name__)
            report_exception(exc, N_("The command did not reach the show"))
            return False
        return True

    def drain(self) -> None:
        """GUI thread: emit queued events in order, then the newest frame."""
        generation = self._generation
        for _ in range(MAX_EVENTS_PER_DRAIN):
            try:
                event_generation, event = self._events.get_nowait()
            except queue.Empty:
                break
            if event_generation == generation:
                self._dispatch(event)
        with self._frame_lock:
            latest, self._latest_frame = self._latest_frame, None
        if latest is not None and latest[0] == generation:
            self._dispatch(latest[1])
        while True:
            try:
                obs_generation, state = self._obs_states.get_nowait()
            except queue.Empty:
                break
            if obs_generation == self._obs_generation:
                try:
                    self.obs_state.emit(state)
                except Exception as exc:
                    report_exception(exc, N_("Showing the OBS state"))

    def _dispatch(self, event: Event) -> None:
        try:
            if isinstance(event, FrameDelivered):
                self.frame_delivered.emit(event)
            elif isinstance(event, SentenceStarted):
                self.sentence_started.emit(event)
            elif isinstance(event, Status):
                self.status_changed.emit(event)
            elif isinstance(event, QueueChanged):
                self.queue_changed.emit(event)
            elif isinstance(event, ScriptShown):
                self.script_shown.emit(event)
            elif isinstance(event, ModeChanged):
                self.mode_changed.emit(event)
            elif isinstance(event, InputsChanged):
                self.inputs_changed.emit(event)
            elif isinstance(event, Problem):
                self.problem.emit(event)
            elif isinstance(event, AudioMeter):
                self.audio_meter.emit(event)
            elif isinstance(event, OutputsChanged):
                self.outputs_changed.emit(event)
            elif isinstance(event, ShowEnded):
                self.show_ended.emit(event)
        except Exception as exc:  # a slot bug must not stop the other events
            _LOG.error("showing %s failed", type(event).__name__)
            report_exception(exc, N_("Showing what the show reported"))
