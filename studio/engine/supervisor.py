"""The supervisor: watches a live engine and restarts what fails, so a show runs unattended.

It reads the engine's ``vitals`` a few times a second, on its own thread (no Qt), and
escalates: a ``Problem`` first, then a restart of the failing component (the voice worker,
an output, the renderer), then a restart of the engine (everything but the show state, the
clock and the outputs). While a restart runs, or a render hangs, the outputs keep getting
the held picture at the frame rate (the engine's stand-in sees to that). A frame loop stuck
for good cannot be freed from inside the process: the supervisor says so, and stops telling
systemd's watchdog that all is well, so the service manager restarts the process.

Thresholds (``Thresholds``; the README lists them):
- no frame for ``frame_stall_s`` (2 s), or one frame's render taking that long, or a
  restart taking ``restart_stall_s`` (15 s): stalled (a Problem; no more watchdog pings);
- a due line pending ``voice_stall_s`` (5 s): a fresh voice worker; the line is tried again
  once, then skipped with a Problem;
- ``voice_failures_in_row`` (3) lines failing one after the other: a fresh voice worker;
- every frame failing to render for ``render_failing_s`` (1 s): a fresh renderer; still
  failing ``escalate_after_s`` (3 s) after that: the engine is restarted;
- an output down: opened again after ``output_retry_s`` (2 s), doubling to 60 s (not a
  recording or a sound device: they come back by themselves);
- resident memory over ``max_rss_mb`` (if set): a Problem (systemd's ``MemoryMax`` is the
  hard limit);
- at most ``max_restarts`` (5) restarts of one component in ``restart_window_s`` (600 s);
  beyond that it is left as it is (the last good picture holds) and a Problem says so.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from studio.engine.events import Event, Problem, ShowEnded, Status
from studio.engine.live import LiveEngine, Vitals
from studio.outputs.base import OutputHealth, OutputState

_LOG = logging.getLogger("studio.supervisor")

MAX_OUTPUT_RETRY_S = 60.0
# Outputs that come back by themselves: a recording goes on in a new file when the disk has
# room again (reopening it here would overwrite it), a sound device is opened again when it
# is back. The supervisor restarts the others (streams, the virtual camera) when down.
SELF_HEALING_KINDS = frozenset({"file", "audio"})


@dataclass(frozen=True, slots=True)
class Thresholds:
    frame_stall_s: float = 2.0
    restart_stall_s: float = 15.0
    voice_stall_s: float = 5.0
    voice_failures_in_row: int = 3
    render_failing_s: float = 1.0
    escalate_after_s: float = 3.0
    output_retry_s: float = 2.0
    max_rss_mb: float | None = None
    max_restarts: int = 5
    restart_window_s: float = 600.0
    check_every_s: float = 0.25


def rss_mb() -> float:
    """This process's resident memory (Linux ``/proc``; else the peak from ``getrusage``)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as f:
            pages = int(f.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@dataclass(frozen=True, slots=True)
class Restart:
    at_s: float  # time.time()
    component: str
    name: str
    reason: str


class Supervisor:
    """Watches ``engine`` from ``start`` to ``stop``; ``snapshot`` is the health report."""

    def __init__(self, engine: LiveEngine, thresholds: Thresholds | None = None,
                 on_tick: Callable[[Supervisor], None] | None = None) -> None:
        self.engine = engine
        self.t = thresholds or Thresholds()
        self._on_tick = on_tick  # each check, on the supervisor's thread (the sd_notify ping)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.state = "starting"
        self.started_at_s = time.time()
        self.restarts: deque[Restart] = deque(maxlen=50)
        self._recent: dict[str, deque[float]] = {}
        self._gave_up: set[str] = set()
        self._asked: dict[str, int] = {}  # restarts asked of the engine, by component
        self._last_problem: Problem | None = None
        self._last_problem_at_s = 0.0
        self._status: Status | None = None
        self._ended = False
        self._stalled = False
        self._renderer_restarted_at: float | None = None
        self._voice_restarted_at = -1e9
        self._outputs_retry: dict[str, tuple[float, float]] = {}  # name -> (next at, delay)
        self._memory_high = False
        self.rss_mb = rss_mb()
        self.peak_rss_mb = self.rss_mb
        self.vitals: Vitals = engine.vitals
        self.outputs: tuple[OutputHealth, ...] = ()
        engine.subscribe(self._on_event)

    # --- lifecycle ---------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="supervisor", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        if self.state != "ended":
            self.state = "stopped"

    def stalled_for_s(self, v: Vitals, now: float) -> float:
        """How long the frame loop has been stuck beyond its allowance (0: it is not): no
        frame at all for ``frame_stall_s``, or one frame's render taking that long (the
        stand-in keeps the outputs fed meanwhile), or a restart taking ``restart_stall_s``."""
        if v.last_frame_at_s is None:
            return 0.0
        over = now - v.last_frame_at_s - self.t.frame_stall_s
        if v.busy_stage == "render":
            over = max(over, v.busy_s - self.t.frame_stall_s)
        elif v.busy_stage == "restart":
            over = max(over, v.busy_s - self.t.restart_stall_s)
        return max(0.0, over)

    @property
    def frames_progress(self) -> bool:
        """The frame loop sends frames (its own, not the stand-in's): what the watchdog ping
        stands for."""
        v = self.vitals
        return v.running and v.last_frame_at_s is not None and \
            self.stalled_for_s(v, time.monotonic()) == 0.0

    def _run(self) -> None:
        while not self._stop.wait(self.t.check_every_s):
            try:
                self.check()
            except Exception:  # the watcher must never die of what it watches
                _LOG.exception("supervisor check failed")
            if self._on_tick is not None:
                try:
                    self._on_tick(self)
                except Exception:
                    _LOG.exception("supervisor tick failed")

    def _on_event(self, event: Event) -> None:  # the engine's thread (or a worker's)
        if isinstance(event, Problem):
            with self._lock:
                self._last_problem = event
                self._last_problem_at_s = time.time()
        elif isinstance(event, Status):
            self._status = event
        elif isinstance(event, ShowEnded):
            self._ended = True

    # --- the checks --------------------------------------------------------------------
    def check(self) -> None:
        """One look at the engine; escalates what has been wrong too long."""
        engine = self.engine
        v = self.vitals = engine.vitals
        self.outputs = engine.outputs
        self.rss_mb = rss_mb()
        self.peak_rss_mb = max(self.peak_rss_mb, self.rss_mb)
        self._check_memory()
        if not v.running:
            if v.last_frame_at_s is not None:
                self.state = "ended" if engine.ended or self._ended else "stopped"
            return
        if v.last_frame_at_s is None:
            return  # still setting up (voice, shaders): systemd's start timeout covers it
        now = time.monotonic()
        stalled = self.stalled_for_s(v, now) > 0
        if stalled and not self._stalled:
            what = f"stuck in a {v.busy_stage} for {v.busy_s:.1f} s" if v.busy_stage else \
                f"sent no frame for {now - v.last_frame_at_s:.1f} s"
            self._report(Problem(f"the frame loop is {what} (frame {v.frame_index})",
                                 "the outputs hold the picture; the service manager restarts "
                                 "the studio when the watchdog runs out",
                                 code="engine.stalled",
                                 args=(("frame", str(v.frame_index)),
                                       ("stage", v.busy_stage))))
        elif not stalled and self._stalled:
            self._report(Problem("the frame loop sends frames again", severity="warning",
                                 code="engine.recovered"))
        self._stalled = stalled
        if stalled:
            self.state = "stalled"
            return
        self._check_voice(v, now)
        self._check_renderer(v, now)
        self._check_outputs(now)
        degraded = v.render_failing_s > 0 or v.voice_waiting_s > self.t.voice_stall_s or any(
            h.state in {OutputState.DOWN, OutputState.DEGRADED} for h in self.outputs)
        self.state = "degraded" if degraded else "on_air"

    def _check_voice(self, v: Vitals, now: float) -> None:
        if self.pending("voice") or now - self._voice_restarted_at < self.t.voice_stall_s:
            return  # the fresh worker gets its time (the engine restarts its line's clock)
        if v.voice_waiting_s > self.t.voice_stall_s:
            self._voice_restarted_at = now
            self._restart("voice", "", f"the line {v.voice_waiting_text!r} has been due "
                          f"for {v.voice_waiting_s:.1f} s")
        elif v.voice_failures_in_row >= self.t.voice_failures_in_row:
            self._voice_restarted_at = now
            self._restart("voice", "", f"{v.voice_failures_in_row} lines failed in a row")

    def pending(self, component: str) -> bool:
        """A restart was asked of the engine and is not done yet (it takes a second)."""
        return self._asked.get(component, 0) > self.vitals.restarts.get(component, 0)

    def _check_renderer(self, v: Vitals, now: float) -> None:
        if v.render_failing_s <= 0:
            self._renderer_restarted_at = None
            return
        if self._renderer_restarted_at is not None and (
                self.pending("renderer") or self.pending("engine")):
            self._renderer_restarted_at = now  # the time to judge it starts when it is done
            return
        restarted = self._renderer_restarted_at
        if restarted is None:
            if v.render_failing_s > self.t.render_failing_s:
                self._renderer_restarted_at = now
                self._restart("renderer", "", f"frames have failed to render for "
                              f"{v.render_failing_s:.1f} s")
        elif now - restarted > self.t.escalate_after_s and \
                v.render_failing_s > self.t.escalate_after_s:
            self._renderer_restarted_at = now  # the next step, if any, waits as long again
            self._restart("engine", "", "frames still fail to render after the renderer "
                          "was restarted")

    def _check_outputs(self, now: float) -> None:
        down = {h.name: h for h in self.outputs if h.state == OutputState.DOWN}
        for name in list(self._outputs_retry):
            if name not in down:
                del self._outputs_retry[name]  # it is back (or it was removed)
        for name, h in down.items():
            if h.kind in SELF_HEALING_KINDS:
                continue
            due, delay = self._outputs_retry.setdefault(
                name, (now + self.t.output_retry_s, self.t.output_retry_s))
            if now >= due:
                delay = min(delay * 2, MAX_OUTPUT_RETRY_S)
                self._outputs_retry[name] = (now + delay, delay)
                self._restart("output", name, f"it is down: {h.reason}")

    def _check_memory(self) -> None:
        limit = self.t.max_rss_mb
        if limit is None:
            return
        high = self.rss_mb > limit
        if high and not self._memory_high:
            self._report(Problem(f"the studio uses {self.rss_mb:.0f} MB of memory (limit "
                                 f"{limit:.0f} MB)", "restart the show when convenient; "
                                 "report it", code="memory.high",
                                 args=(("rss_mb", f"{self.rss_mb:.0f}"),
                                       ("limit_mb", f"{limit:.0f}"))))
        self._memory_high = high

    # --- acting ------------------------------------------------------------------------
    def _restart(self, component: str, name: str, reason: str) -> None:
        key = f"{component}:{name}"
        recent = self._recent.setdefault(key, deque())
        now = time.monotonic()
        while recent and now - recent[0] > self.t.restart_window_s:
            recent.popleft()
        if len(recent) >= self.t.max_restarts:
            if key not in self._gave_up:
                self._gave_up.add(key)
                what = f"output {name}" if name else f"the {component}"
                self._report(Problem(f"{what} was restarted {len(recent)} times in "
                                     f"{self.t.restart_window_s:.0f} s; it is left as it is",
                                     "look at the log; restart the show",
                                     code="restart.given_up",
                                     args=(("component", component), ("name", name))))
            return
        self._gave_up.discard(key)
        recent.append(now)
        self._asked[component] = self._asked.get(component, 0) + 1
        with self._lock:
            self.restarts.append(Restart(time.time(), component, name, reason))
        _LOG.warning("asking for a restart of %s %s: %s", component, name, reason)
        if component == "voice":
            self.engine.restart_voice(reason)
        elif component == "renderer":
            self.engine.restart_renderer(reason)
        elif component == "engine":
            self.engine.restart_engine(reason)
        else:
            self.engine.restart_output(name, reason)

    def _report(self, problem: Problem) -> None:
        self.engine.report(problem)

    # --- the report --------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        """The health report (JSON-ready): what an outside monitor reads."""
        v = self.vitals
        status = self._status
        with self._lock:
            problem, problem_at = self._last_problem, self._last_problem_at_s
            restarts = list(self.restarts)
        counts: dict[str, int] = {}
        for r in restarts:
            counts[r.component] = counts.get(r.component, 0) + 1
        engine_counts = v.restarts  # what the engine did, on request or by itself
        return {
            "state": self.state,
            "show": self.engine.show.show.title,
            "mode": status.mode if status is not None else None,
            "show_time_s": round(v.show_time_s, 3),
            "uptime_s": round(time.time() - self.started_at_s, 1),
            "updated_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "pid": os.getpid(),
            "frames": {"delivered": v.frames_delivered, "dropped": v.frames_dropped,
                       "held": v.frames_held,
                       "fps": status.fps_delivered if status is not None else 0.0},
            "render": {"failing_s": round(v.render_failing_s, 2), "busy": v.busy_stage,
                       "busy_s": round(v.busy_s, 2)},
            "voice": {"waiting_s": round(v.voice_waiting_s, 2),
                      "failures_in_row": v.voice_failures_in_row},
            "outputs": [{"name": h.name, "kind": h.kind, "state": h.state.value,
                         "code": h.code, "reason": h.reason, "frames_sent": h.frames_sent,
                         "frames_dropped": h.frames_dropped, "reconnects": h.reconnects}
                        for h in self.outputs],
            "restarts": {"total": sum(engine_counts.values()), **engine_counts,
                         "asked": counts,
                         "recent": [{"at": time.strftime("%Y-%m-%dT%H:%M:%S%z",
                                                         time.localtime(r.at_s)),
                                     "component": r.component, "name": r.name,
                                     "reason": r.reason} for r in restarts[-10:]]},
            "last_problem": None if problem is None else {
                "code": problem.code, "severity": problem.severity,
                "message": problem.message,
                "at": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(problem_at))},
            "memory": {"rss_mb": round(self.rss_mb, 1), "peak_rss_mb": round(self.peak_rss_mb, 1),
                       "limit_mb": self.t.max_rss_mb},
        }
