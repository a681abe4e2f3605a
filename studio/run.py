"""``studio run``: a show live, in real time, with no window, into the outputs named.

One process per room on a server, or a rehearsal on a laptop: the show goes on air, cues
replay operator actions at show times, OBS (with ``--obs``) is set up for this run's
outputs and follows takeover and the product on air. It runs until the run-down ends (or
for ever with ``loop = true``), ``--for`` seconds, or SIGINT/SIGTERM, then stops cleanly:
files are finished, streams closed. A status line every few seconds says how it goes.
The exit status is 0 when every output ran the whole time, 1 when one failed (or the
engine itself stopped, so that systemd's ``Restart=on-failure`` starts it again).

A supervisor (``studio.engine.supervisor``) watches the run and restarts what fails; with
``--health-port`` a read-only JSON report is served on 127.0.0.1, with ``--health-file`` it
is written to a file every few seconds, and under systemd (``$NOTIFY_SOCKET``) the run says
READY=1 and pings the watchdog only while frames go out.
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path
from types import FrameType
from typing import TextIO

from studio.core.errors import UserInputError
from studio.core.formats import check_settings
from studio.engine.asrun import AsRunLog
from studio.engine.cues import load_cues
from studio.engine.events import (
    Event,
    InputsChanged,
    ModeChanged,
    OutputsChanged,
    Problem,
    ShowEnded,
    Status,
)
from studio.engine.health import HealthFile, HealthServer, SdNotify, check_health_file
from studio.engine.live import LiveEngine
from studio.engine.preflight import avatar_show_problems, refuse, require_voice
from studio.engine.supervisor import Supervisor, Thresholds
from studio.inputs.base import InputHealth, InputSpec, parse_camera, parse_mic
from studio.outputs.base import (
    OutputHealth,
    OutputSpec,
    OutputState,
    ProgramFormat,
    build_output,
    parse_target,
)
from studio.program.switcher import DEFAULT_CROSSFADE_S, MAX_CROSSFADE_S, parse_mode
from studio.show.loader import load_show


@dataclass
class _Watch:
    """What the engine and OBS last said; written on their threads, read by the printer."""

    status: Status | None = None
    outputs: tuple[OutputHealth, ...] = ()
    inputs: tuple[InputHealth, ...] = ()
    face_found: bool | None = None
    failed: dict[str, str] = field(default_factory=dict)  # output name -> first reason
    obs: str = ""
    obs_failed: str = ""
    ended: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)


def _clock(seconds: float) -> str:
    total = int(seconds)
    return f"{total // 3600:d}:{total // 60 % 60:02d}:{total % 60:02d}"


def _health_text(h: OutputHealth) -> str:
    parts = [f"{h.name} {h.state.value}"]
    if h.bitrate_bps:
        parts.append(f"{h.bitrate_bps / 1e6:.1f} Mb/s")
    if h.frames_dropped:
        parts.append(f"{h.frames_dropped} dropped")
    if h.reconnects:
        parts.append(f"{h.reconnects} reconnects")
    if h.reason and h.state == OutputState.DEGRADED:  # a DOWN one was reported as it fell
        parts.append(f"({h.reason})")
    return " ".join(parts)


def status_line(watch: _Watch) -> str:
    with watch.lock:
        s, outputs, obs = watch.status, watch.outputs, watch.obs
    if s is None:
        return "starting: loading the voice and drawing the cards"
    who = s.mode.upper()
    head = (f"[{_clock(s.elapsed_s)}] {who}{' paused' if s.paused else ''} · "
            f"{s.fps_delivered:.1f}/{s.fps_target:g} fps · dropped {s.frames_dropped}")
    if s.audio_underruns:
        head += f" · {s.audio_underruns} audio underruns"
    with watch.lock:
        inputs, face = watch.inputs, watch.face_found
    ins = [f"{h.name} {h.state.value}" + (" silent" if h.silent else "")
           + (" clipping" if h.clipping else "") for h in inputs]
    if face is not None:
        ins.append("face tracked" if face else "no face")
    return " · ".join([head, *ins, *(_health_text(h) for h in outputs),
                       *([obs] if obs else [])])


def _obs_program(specs: list[OutputSpec]) -> tuple[str, str]:
    """(virtual camera device, stream URL) for OBS's scenes: the camera first."""
    for spec in specs:
        if spec.kind == "virtualcam":
            return spec.target or "/dev/video10", ""
    for spec in specs:
        if spec.kind == "stream" and spec.target.lower().startswith(("udp://", "srt://")):
            return "", spec.target
    raise UserInputError("--obs needs our picture in OBS: add --out virtualcam, or a local "
                         "stream such as --out udp://127.0.0.1:5600 (OBS reads it with a "
                         "Media Source)")


def check_inputs(camera: str | None, mic: str | None
                 ) -> tuple[InputSpec | None, InputSpec | None]:
    """Parse ``--camera`` and ``--mic``; a file that is not there is refused now (a device is
    tried when the show starts, and stood in for if it cannot be opened)."""
    specs: list[InputSpec | None] = []
    for flag, text, parse in (("--camera", camera, parse_camera), ("--mic", mic, parse_mic)):
        if text is None:
            specs.append(None)
            continue
        spec = parse(text)
        if spec.is_file and not Path(spec.target).is_file():
            raise UserInputError(f"{flag} {spec.target}: no such file; give a video (camera) "
                                 "or audio (microphone) file that exists, or a device")
        specs.append(spec)
    return specs[0], specs[1]


def run_live(show_path: Path, targets: list[str], *, obs_url: str | None = None,
             cues_path: Path | None = None, size: tuple[int, int] = (1280, 720),
             fps: Fraction = Fraction(30), for_s: float | None = None,
             status_every_s: float = 5.0, stream_options: tuple[tuple[str, str], ...] = (),
             camera: str | None = None, mic: str | None = None, mode: str = "ai",
             crossfade_s: float = DEFAULT_CROSSFADE_S, as_run_dir: Path | None = None,
             operator: str = "",
             health_port: int | None = None, health_file: Path | None = None,
             max_rss_mb: float | None = None,
             out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    show = load_show(show_path)
    require_voice(show)  # a voice file that is not there is refused now, not on air
    refuse(show, avatar_show_problems(show))  # a likeness without consent: not on air
    if health_port is not None and not 0 <= health_port <= 65535:
        raise UserInputError(f"--health-port {health_port} is not a port; use 1024..65535 "
                             "(or 0 for any free port)")
    if health_file is not None:
        health_file = check_health_file(health_file)
    if max_rss_mb is not None and max_rss_mb <= 0:
        raise UserInputError(f"--max-rss-mb {max_rss_mb:g} must be a positive size in MB")
    inputs = check_inputs(camera, mic)
    try:
        first_mode = parse_mode(mode)
    except ValueError as exc:
        raise UserInputError(f"--mode: {exc}") from None
    if not 0.0 <= crossfade_s <= MAX_CROSSFADE_S:
        raise UserInputError(f"--crossfade {crossfade_s:g} is out of range; use 0 (a hard "
                             f"cut) to {MAX_CROSSFADE_S:g} seconds")
    if not targets:
        raise UserInputError("studio run needs at least one --out: virtualcam, audio, "
                             "udp://127.0.0.1:5600, rtmp://HOST/APP/KEY or a file such as "
                             "show.mp4")
    specs = [parse_target(t) for t in targets]
    specs = [replace(s, options=s.options + stream_options) if s.kind == "stream" else s
             for s in specs]
    names = [s.display for s in specs]
    if len(set(names)) != len(names):
        raise UserInputError("the same --out is named twice: " + ", ".join(names))
    check_settings(size, fps, [Path(s.target) for s in specs if s.kind == "file"])
    program = ProgramFormat(size[0], size[1], fps)
    for spec in specs:  # refuse bad settings now, before anything goes on air
        build_output(spec).check(program)
    cues = load_cues(cues_path, [p.id for p in show.products]) if cues_path else []
    obs_program = _obs_program(specs) if obs_url else None

    watch = _Watch()

    def on_event(event: Event) -> None:  # the engine's thread
        if isinstance(event, Status):
            watch.status = event
        elif isinstance(event, OutputsChanged):
            with watch.lock:
                watch.outputs = event.outputs
                for h in event.outputs:
                    if h.state == OutputState.DOWN:
                        watch.failed.setdefault(h.name, h.reason)
        elif isinstance(event, Problem):
            print(f"studio: {event.severity}: {event.message}"
                  + (f" — {event.fix}" if event.fix else ""), file=err, flush=True)
        elif isinstance(event, ShowEnded):
            watch.ended = True
        elif isinstance(event, InputsChanged):
            with watch.lock:
                watch.inputs = event.inputs
                watch.face_found = event.face_found
        elif isinstance(event, ModeChanged):
            resume = f"; the AI resumes at {event.resume.text!r}" if event.resume else ""
            print(f"studio: mode {event.previous} → {event.mode} at "
                  f"{_clock(event.at_samples / engine.sample_rate_hz)} "
                  f"({time.strftime('%H:%M:%S', time.localtime(event.wall_time_s))}, "
                  f"crossfade {event.crossfade_s * 1000:.0f} ms){resume}", file=out, flush=True)

    engine = LiveEngine(show, width_px=size[0], height_px=size[1], fps=fps,
                        show_path=show_path, outputs=specs, stop_when_ended=True,
                        camera=inputs[0], mic=inputs[1], mode=first_mode,
                        crossfade_s=crossfade_s)
    engine.subscribe(on_event)
    for cue in cues:
        engine.send_at(engine.clock.s_to_samples(cue.at_s), cue.command)
    if for_s is not None:
        engine.stop_at(engine.clock.s_to_samples(for_s))

    controller = None
    if obs_url is not None and obs_program is not None:
        from studio.obs.client import parse_obs_url, password_from_env
        from studio.obs.controller import ObsController
        from studio.obs.setup import ObsProgramSource
        from studio.obs.state import ObsState

        host, port = parse_obs_url(obs_url)
        device, stream = obs_program
        controller = ObsController(host, port, password_from_env(),
                                   program=ObsProgramSource(virtualcam_device=device,
                                                            stream_url=stream),
                                   canvas_px=size)

        def on_obs(state: ObsState) -> None:  # the controller's thread
            if state.connected:
                text = (f"OBS {state.scene or 'connected'}"
                        + (" streaming" if state.streaming else "")
                        + (" recording" if state.recording else ""))
            else:
                text = f"OBS down ({state.error})" if state.error else "OBS connecting"
                if state.error:
                    watch.obs_failed = watch.obs_failed or state.error
            if text != watch.obs:
                print(f"studio: {text}", file=err, flush=True)
            watch.obs = text

        controller.subscribe(on_obs)
        controller.setup()
        controller.attach(engine)

    notify = SdNotify()

    def on_tick(sup: Supervisor) -> None:  # the supervisor's thread, a few times a second
        notify.tick(sup.frames_progress,
                    f"{sup.state} · {_clock(sup.vitals.show_time_s)} of show time")

    supervisor = Supervisor(engine, Thresholds(max_rss_mb=max_rss_mb), on_tick=on_tick)
    server = HealthServer(supervisor.snapshot, health_port) if health_port is not None \
        else None
    status_file = HealthFile(supervisor.snapshot, health_file) if health_file is not None \
        else None
    if server is not None:
        print(f"Health: {server.url}", file=out, flush=True)

    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    print(f"On air: {show.show.title} at {size[0]}x{size[1]}@{float(fps):g} → "
          + ", ".join(names) + ("" if show.show.loop else " (until the run-down ends)")
          + "; Ctrl+C stops", file=out, flush=True)
    as_run: AsRunLog | None = None
    if as_run_dir is not None:  # what goes on air, on record (JSON lines, a file a day)
        as_run = AsRunLog(as_run_dir)
        as_run.attach(engine, source="run", operator=operator, end_on_run_ended=False)
        print(f"As-run log: {as_run_dir}", file=out, flush=True)
    started = time.monotonic()
    next_status = started + min(status_every_s, 2.0)
    engine.start()
    supervisor.start()
    try:
        while not engine.wait(0.1):
            now = time.monotonic()
            if stop.is_set():
                break
            if now >= next_status:
                print(status_line(watch), file=out, flush=True)
                next_status = now + status_every_s
    finally:
        notify.stopping()
        engine.stop()
        supervisor.check()
        supervisor.stop()
        if status_file is not None:
            status_file.close()
        if server is not None:
            server.close()
        notify.close()
        if controller is not None:
            controller.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    final = engine.outputs
    print(status_line(watch), file=out, flush=True)
    why = (engine.failed if engine.failed else "stopped by signal" if stop.is_set()
           else "the run-down ended" if watch.ended
           else f"--for {for_s:g} s" if for_s is not None else "the engine stopped")
    shown_s = watch.status.elapsed_s if watch.status is not None else 0.0
    print(f"Stopped ({why}) at {_clock(shown_s)} of show time.", file=out)
    with watch.lock:
        failed = dict(watch.failed)
    for h in final:
        if h.state == OutputState.DOWN:
            failed.setdefault(h.name, h.reason)
    if watch.obs_failed:
        failed.setdefault("OBS", watch.obs_failed)
    if as_run is not None:
        as_run.close(why, status="failed" if engine.failed else
                     "outputs failed" if failed else "ok",
                     error="; ".join(f"{name}: {reason}" for name, reason in failed.items()))
    for name, reason in failed.items():
        print(f"studio: output {name} failed: {reason}", file=err)
    if engine.failed:
        print(f"studio: {engine.failed}", file=err)
    return 1 if failed or engine.failed else 0
