"""The live show's camera and microphone: opened off the frame loop, swapped between frames,
watched, and every problem with them told to the operator with its fix.

A device can take a second to open or to let go, so on air both happen on helper threads and
the frame loop only ever swaps a ready input in; unpaced runs (tests) do it all in place.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from studio.core.errors import StudioError
from studio.engine.events import InputsChanged, Problem
from studio.engine.puppet import FACE_LOST_WARN_S, PuppetFace
from studio.inputs.base import (
    AudioInput,
    InputHealth,
    InputKind,
    InputSpec,
    InputState,
    VideoInput,
    build_audio_input,
    build_video_input,
)
from studio.program.switcher import Mode

_LOG = logging.getLogger("studio.live")

Input = VideoInput | AudioInput


class LiveInputs:
    def __init__(self, sample_rate_hz: int, *, realtime: bool, puppet: PuppetFace,
                 emit: Callable[[Problem], None]) -> None:
        self._rate = sample_rate_hz
        self._realtime = realtime
        self._puppet = puppet
        self._emit = emit
        self.camera: VideoInput | None = None
        self.mic: AudioInput | None = None
        # The host's face, to warm the tracker up (set by the engine once it has drawn one).
        self.warm_rgb: npt.NDArray[np.uint8] | None = None
        self._opened: queue.SimpleQueue[tuple[InputKind, Input | None]] = queue.SimpleQueue()
        self._health: tuple[InputHealth, ...] = ()
        self._face_warned = False
        self._closing = False

    @property
    def health(self) -> tuple[InputHealth, ...]:
        return tuple(i.health() for i in (self.camera, self.mic) if i is not None)

    # --- choosing ----------------------------------------------------------------------------
    def open_now(self, kind: InputKind, wanted: InputSpec | Input) -> None:
        """At start-up: open and use it at once (a failure is a Problem, not an exception)."""
        self._set(kind, self._open(wanted))

    def request(self, kind: InputKind, spec: InputSpec | None) -> None:
        """Swap a camera or microphone: opened on a helper thread on air, put in between two
        frames by ``swap``."""
        if spec is None or not self._realtime:
            self._set(kind, None if spec is None else self._open(spec))
            return

        def open_it() -> None:
            self._opened.put((kind, self._open(spec)))

        threading.Thread(target=open_it, name=f"open-{kind.value}", daemon=True).start()

    def swap(self) -> None:
        """Put in what finished opening since the last frame."""
        while True:
            try:
                kind, opened = self._opened.get_nowait()
            except queue.Empty:
                return
            if opened is not None:
                self._set(kind, opened)

    def drop(self, kind: InputKind) -> None:
        self._set(kind, None)

    def close(self) -> None:
        self._closing = True
        for kind in (InputKind.CAMERA, InputKind.MIC):
            self._set(kind, None)

    def _open(self, wanted: InputSpec | Input) -> Input | None:
        """Build and open a camera or microphone; None (and a Problem) if it cannot."""
        try:
            if isinstance(wanted, InputSpec):
                built: Input = build_video_input(wanted) if wanted.kind == InputKind.CAMERA \
                    else build_audio_input(wanted)
            else:
                built = wanted
            if isinstance(built, AudioInput):
                built.open(self._rate)
            else:
                built.open()
        except Exception as exc:
            if not isinstance(exc, StudioError):
                _LOG.exception("input %s failed to open", wanted)
            name = wanted.display if isinstance(wanted, InputSpec) else wanted.name
            self._emit(Problem(f"{name} cannot be used: {exc}",
                               "the program goes on without it (the standby picture stands "
                               "in for a camera); fix it and choose it again",
                               code="input.unusable", args=(("name", name), ("error", str(exc)))))
            return None
        return built

    def _set(self, kind: InputKind, opened: Input | None) -> None:
        old: Input | None = self.camera if kind == InputKind.CAMERA else self.mic
        if kind == InputKind.CAMERA:
            assert opened is None or isinstance(opened, VideoInput)
            self.camera = opened
            if opened is not None:
                self._puppet.load_tracker(self.warm_rgb)
                self._puppet.load_voice_model()
        else:
            assert opened is None or isinstance(opened, AudioInput)
            self.mic = opened
            if opened is not None:
                self._puppet.load_voice_model()
        if old is not None and old is not opened:
            def close_it(done: Input = old) -> None:
                try:
                    done.close()
                except Exception:
                    _LOG.exception("input %s failed to close", done.name)

            if self._realtime and not self._closing:  # a device can take a while to let go
                threading.Thread(target=close_it, name="close-input", daemon=True).start()
            else:
                close_it()
        self._health = ()  # announce the new set

    # --- watching ----------------------------------------------------------------------------
    def missing_for(self, mode: Mode) -> None:
        """Tell the operator at once what a human mode lacks (it still goes on air)."""
        if mode is Mode.HUMAN and self.camera is None:
            self._emit(Problem("no camera is set: the human mode shows the standby picture",
                               "choose a camera in Settings (or studio run --camera)",
                               "warning",
                               code="input.no_camera_human"))
        if mode is Mode.PUPPET and self.camera is None:
            self._emit(Problem("no camera is set: the puppet's head idles and its lips follow "
                               "the voice", "choose a camera in Settings (or studio run "
                               "--camera)", "warning",
                               code="input.no_camera_puppet"))
        if mode is not Mode.AI and self.mic is None:
            self._emit(Problem("no microphone is set: the program is silent while a human is "
                               "on air", "choose a microphone in Settings (or studio run "
                               "--mic)", "warning",
                               code="input.no_mic"))
        if mode is Mode.PUPPET and self._puppet.problem:
            self._emit(Problem(self._puppet.problem, "the avatar idles meanwhile; reinstall "
                               "the studio (bash installers/studio.sh test) to repair it",
                               code="puppet.unavailable", args=(("error", self._puppet.problem),)))
        self._face_warned = False

    def check(self, mode: Mode, t_s: float, *, periodic: bool) -> InputsChanged | None:
        """Problems from the inputs' health since the last check; the event to send when
        something changed (or ``periodic``, while the puppet's tracking is worth showing)."""
        health = self.health
        old = {h.name: h for h in self._health}
        for h in health:
            before = old.get(h.name)
            if h.state in (InputState.LOST, InputState.DOWN) and \
                    (before is None or before.state != h.state):
                stand_in = ("the standby picture" if mode is Mode.HUMAN else
                            "the avatar, its lips following the voice") \
                    if h.kind == InputKind.CAMERA else "silence"
                stand_in_key = ("standby" if mode is Mode.HUMAN else "avatar") \
                    if h.kind == InputKind.CAMERA else "silence"
                what = "disconnected" if h.state == InputState.LOST else "is not working"
                self._emit(Problem(f"{h.name} {what}: {h.reason}",
                                   f"{stand_in} stands in meanwhile; the studio reconnects "
                                   "by itself, or choose another in Settings",
                                   code="input.lost" if h.state == InputState.LOST
                                   else "input.down",
                                   args=(("name", h.name), ("reason", h.reason),
                                         ("stand_in", stand_in_key))))
            if h.kind == InputKind.MIC and mode is not Mode.AI:
                if h.silent and not (before and before.silent):
                    self._emit(Problem(f"{h.name} is silent (below -60 dBFS for seconds)",
                                       "check that the microphone is on, unmuted and chosen "
                                       "in Settings", "warning",
                                       code="mic.silent", args=(("name", h.name),)))
                if h.clipping and not (before and before.clipping):
                    self._emit(Problem(f"{h.name} is clipping (peaks at full scale): the "
                                       "voice distorts", "turn the microphone's gain down",
                                       "warning",
                                       code="mic.clipping", args=(("name", h.name),)))
        puppet = self._puppet
        puppet_on = mode is Mode.PUPPET
        if puppet_on and self.camera is not None and not self._face_warned and \
                puppet.lost_for_s(t_s) >= FACE_LOST_WARN_S:
            self._face_warned = True
            self._emit(Problem("no face in view of the camera: the avatar's lips follow the "
                               "voice and its head idles", "face the camera (with light on "
                               "your face)", "warning",
                               code="face.not_found"))
        if puppet.face_found:
            self._face_warned = False
        if health == self._health and not (puppet_on and periodic):
            return None
        self._health = health
        return InputsChanged(health, puppet.face_found if puppet_on else None,
                             round(puppet.tracking_ms, 2), puppet.a2f_provider)
