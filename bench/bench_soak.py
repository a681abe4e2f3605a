"""Soak: a looping show for a day of show time, or an hour on air with outputs. Prints JSON.

    .venv/bin/python bench/bench_soak.py --show-hours 24 [--fps 1 --size 160x90]
    .venv/bin/python bench/bench_soak.py --realtime --minutes 60 [--fps 30 --size 640x360]

Both runs play the looping demo show (``[show] loop = true``) with the host's voice replaced
by Piper's ``en_US-joe-medium`` (the demo's Kokoro voice costs several times more CPU per
sentence; ``--voice`` picks another). Nothing in the engine is replaced.

- ``--show-hours``: unpaced (``realtime=False``, ``run_frames``), so a day of show time takes
  minutes to hours of wall time, depending mostly on the synthesis of every sentence, which
  is real: the loop synthesises each round's lines again.
- ``--realtime``: paced by the monotonic clock, into an MP4 recording and an MPEG-TS stream
  over UDP to 127.0.0.1 (a socket thread here counts the datagrams and bytes); at the end the
  recording is read back (PyAV, packets only) for its frame count and stream durations.

At every checkpoint: RSS, open file descriptors (/proc/self/fd), threads (Python's and
/proc/self/task), the engine's buffers and queues (face motion, mixer clips, timeline
segments, placed lines, synthesis results and lines asked for, the problem table, output
queues) and the A/V account: a counting output checks, at every frame it gets, that the
audio samples it got so far equal the sample at which the next frame starts (integer
timestamps: drift must be exactly 0). Checkpoints go to ``--json-out`` as they come, so a
run still going (or killed) can be read. The machine's load average is recorded: other work
on the machine slows the run, and in real time it shows up as late and dropped frames.

Memory: malloc runs as ``studio run`` and the window set it at start
(``studio.core.allocator.tune_for_long_runs``: two arenas, a fixed 4 MB mmap threshold, free
memory given back every 30 s); ``--glibc-defaults`` leaves glibc as it is, to compare. Each
checkpoint also has malloc's own figures (in use, free in its arenas, mapped, arenas), CPU
seconds and page faults; the summary has the growth a show-minute (end against warm-up,
and the trend through every checkpoint after it) and the anonymous memory by arena. For the
cause of a growth (unpaced runs): ``--with-outputs mp4`` or ``udp`` (one output), ``--trace``
(tracemalloc: the Python allocations that grew most after warm-up) and ``--trim``
(``malloc_trim`` at each checkpoint: what RSS would be if malloc gave back all it holds free);
``--voice-rounds N`` has the voice alone say the show's lines N times over (RSS each round).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import socket
import sys
import tempfile
import threading
import time
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

os.environ.setdefault("EGL_PLATFORM", "surfaceless")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

if TYPE_CHECKING:
    from studio.core.clock import MediaClock
    from studio.core.media import AudioChunk
    from studio.engine.live import LiveEngine
    from studio.outputs.base import ProgramFormat, ProgramFrame
    from studio.show.model import Show

SOAK_VOICE = "en_US-joe-medium"
RSS_GROWTH_LIMIT = 0.05  # after warm-up
WARM_UP_SHARE = 0.2  # the first fifth of the run is warm-up (allocator and arena steps)


def rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        line = next(x for x in status if x.startswith("VmRSS"))
    return int(line.split()[1]) / 1024


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def fd_targets() -> dict[str, str]:
    """What each open descriptor is (a file, a socket, a pipe, a device)."""
    targets = {}
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):
            targets[fd] = os.readlink(f"/proc/self/fd/{fd}")
    return targets


def fds_opened_since(before: dict[str, str]) -> list[str]:
    """Descriptors open now that were not before (what a closed engine left open)."""
    now = fd_targets()
    return sorted(target for fd, target in now.items() if before.get(fd) != target)


def os_threads() -> int:
    return len(os.listdir("/proc/self/task"))


def os_thread_names() -> dict[str, int]:
    """How many OS threads go by each name (/proc/self/task/*/comm)."""
    names: dict[str, int] = {}
    for task in os.listdir("/proc/self/task"):
        with contextlib.suppress(OSError), open(f"/proc/self/task/{task}/comm",
                                                encoding="utf-8") as comm:
            name = comm.read().strip()
            names[name] = names.get(name, 0) + 1
    return dict(sorted(names.items()))


def load_average() -> list[float]:
    return [round(v, 2) for v in os.getloadavg()]


def soak_show(voice: str) -> Show:
    """The demo show, looping, with ``voice`` for its host."""
    from studio.paths import demo_show_path
    from studio.show.loader import load_show

    path = demo_show_path()
    show = load_show(path)
    show = show.model_copy(update={
        "show": show.show.model_copy(update={"loop": True}),
        "host": show.host.model_copy(update={"voice": voice})})
    show.with_base_dir(path.parent)
    return show


class RepeatedLines:
    """The real voice, but a line said before is not synthesised again: its clip is reused,
    as a fresh copy (so anything that kept old clips alive would still show as memory).

    A looping show says the same lines every round; synthesising each again is ~0.3 s of
    CPU a sentence, some 23,000 sentences a show-day: hours, not minutes. The real-time soak
    (and ``--synthesise-every-line``) synthesise every line."""

    def __init__(self, voice: Any) -> None:
        self._voice = voice
        self.name = voice.name
        self.execution_provider = voice.execution_provider
        self.info = voice.info
        self._clips: dict[str, Any] = {}
        self.synthesised = 0
        self.reused = 0

    def synthesize(self, sentence: str) -> Any:
        from dataclasses import replace

        clip = self._clips.get(sentence)
        if clip is None:
            clip = self._clips[sentence] = self._voice.synthesize(sentence)
            self.synthesised += 1
        else:
            self.reused += 1
        return replace(clip, audio=clip.audio.copy())


def load_soak_voice(show: Show) -> Any:
    """The show's voice, loaded as the engine loads it (one intra-op thread)."""
    from studio.voice.registry import load_voice

    host = show.host
    return load_voice(host.voice, base_dir=show.base_dir, speaking_rate=host.speaking_rate,
                      language=show.show.language, threads=1,
                      pronunciations=show.pronunciations)


def make_counter_class() -> type:
    """The counting output (built late: importing studio sets EGL up first)."""
    from studio.outputs.base import FramePolicy, Output, OutputSpec

    class AvCounter(Output):
        """An output that keeps the A/V account: audio samples and frames it was handed,
        and whether each frame's start is exactly where the audio so far ends."""

        kind: ClassVar[str] = "soak-counter"
        policy: ClassVar[FramePolicy] = FramePolicy.DROP

        def __init__(self, clock: MediaClock) -> None:
            super().__init__(OutputSpec("soak-counter", ""))
            self.clock = clock
            self.audio_samples = 0
            self.audio_chunks = 0
            self.audio_gaps = 0  # a chunk that does not start where the last one ended
            self.frames = 0
            self.frame_gaps = 0  # a frame index skipped
            self.drift_samples_max_abs = 0
            self.drift_frames = 0  # frames at which the account was not exact
            self._start = 0
            self._next_pts: int | None = None
            self._last_index: int | None = None

        def open(self, fmt: ProgramFormat, start_samples: int) -> None:
            self._start = start_samples
            from studio.outputs.base import OutputState

            self.set_state(OutputState.UP)

        def send_audio(self, chunk: AudioChunk) -> None:
            if self._next_pts is not None and chunk.pts_samples != self._next_pts:
                self.audio_gaps += 1
            self._next_pts = chunk.pts_samples + chunk.n_samples
            self.audio_samples += chunk.n_samples
            self.audio_chunks += 1

        def send_video(self, frame: ProgramFrame) -> None:
            # The engine hands each frame's audio first: the audio so far must end exactly
            # where the next frame starts, and the frame must start where the clock says.
            expected = self.clock.frame_start_sample(frame.index + 1) - self._start
            drift = self.audio_samples - expected
            if frame.pts_samples != self.clock.frame_start_sample(frame.index):
                drift = drift or 1
            if drift:
                self.drift_frames += 1
                self.drift_samples_max_abs = max(self.drift_samples_max_abs, abs(drift))
            if self._last_index is not None and frame.index != self._last_index + 1:
                self.frame_gaps += 1
            self._last_index = frame.index
            self.frames += 1
            self.frames_sent += 1

        def close(self) -> None:
            from studio.outputs.base import OutputState

            self.set_state(OutputState.STOPPED)

        def account(self) -> dict[str, int]:
            expected = self.clock.frame_start_sample(self.frames) if self.frames else 0
            return {"frames": self.frames, "audio_samples": self.audio_samples,
                    "frames_x_samples_per_frame": expected,
                    "drift_samples": self.audio_samples - expected if self._last_index
                    == self.frames - 1 else self.drift_samples_max_abs,
                    "drift_frames": self.drift_frames,
                    "drift_samples_max_abs": self.drift_samples_max_abs,
                    "audio_gaps": self.audio_gaps, "frame_gaps": self.frame_gaps}

    return AvCounter


def _retry(read: Any) -> Any:
    """Read engine state from another thread: a container may change under the read."""
    for _ in range(5):
        with contextlib.suppress(RuntimeError):
            return read()
    return None


def engine_buffers(engine: LiveEngine) -> dict[str, Any]:
    """The engine's own buffers and queues: each must stay bounded all day."""
    results, asked = engine._synth.sizes
    outputs = {o.name: o._queue.qsize() for o in list(engine._outputs) if hasattr(o, "_queue")}
    return {
        "face_buffers": _retry(engine._face.buffer_sizes),
        "mixer_clips": len(engine._core.mixer._clips),
        "timeline_segments": len(engine._core.timeline.segments),
        "lines_placed": len(engine._placed),
        "frames_waiting_to_present": len(engine._present),
        "synthesis_results_held": results, "synthesis_lines_asked": asked,
        "synthesis_evicted": engine._synth.evicted,
        "problem_table": engine.problems_remembered,
        "commands_scheduled": len(engine._scheduled),
        "output_queues": outputs,
    }


def process_figures() -> dict[str, Any]:
    from studio.core.allocator import heap_figures

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {"rss_mb": round(rss_mb(), 1), "open_fds": open_fds(),
            "python_threads": threading.active_count(), "os_threads": os_threads(),
            "load_average": load_average(), "malloc": heap_figures(),
            # CPU and page faults so far: what the allocator's settings cost (wall time
            # depends on the machine's other work)
            "cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
            "minor_faults": usage.ru_minflt}


def anonymous_memory() -> dict[str, Any]:
    """The process's anonymous memory (/proc/self/smaps): resident in all, and in glibc's
    per-thread arenas (each a region aligned to 64 MB, the size it reserves), one by one."""
    arena_align = 64 << 20
    total_kb = 0
    arena_kb: list[int] = []
    anonymous = arena = False
    with open("/proc/self/smaps", encoding="utf-8") as smaps:
        for line in smaps:
            fields = line.split()
            if not fields[0].endswith(":"):  # a mapping's first line
                start, end = (int(x, 16) for x in fields[0].split("-"))
                anonymous = len(fields) < 6 or fields[5] == "[heap]"
                arena = anonymous and start % arena_align == 0 and end - start <= arena_align
            elif fields[0] == "Rss:" and anonymous:
                rss_kb = int(fields[1])
                total_kb += rss_kb
                if arena and rss_kb:
                    arena_kb.append(rss_kb)
    return {"anonymous_rss_mb": round(total_kb / 1024, 1),
            "arena_regions_rss_mb": sorted((round(k / 1024, 1) for k in arena_kb),
                                           reverse=True)}


class HeapTrace:
    """``--trace``: Python allocations (tracemalloc, every thread; numpy's arrays included)
    snapshotted after warm-up and at the end; the lines whose memory grew most."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._warm: Any = None
        if enabled:
            import tracemalloc

            tracemalloc.start(8)

    def warm_up_ended(self) -> None:
        if self.enabled and self._warm is None:
            import tracemalloc

            self._warm = tracemalloc.take_snapshot()

    def report(self, top: int = 15) -> dict[str, Any]:
        if not self.enabled or self._warm is None:
            return {}
        import tracemalloc

        end = tracemalloc.take_snapshot()
        keep = (tracemalloc.Filter(False, tracemalloc.__file__),)
        diff = end.filter_traces(keep).compare_to(self._warm.filter_traces(keep), "traceback")
        total_warm = sum(s.size for s in self._warm.statistics("filename"))
        total_end = sum(s.size for s in end.statistics("filename"))
        rows = []
        for stat in diff[:top]:
            frames = [f"{f.filename.split('/site-packages/')[-1].split('/wt/')[-1]}:{f.lineno}"
                      for f in stat.traceback[:4]]
            rows.append({"size_diff_kb": round(stat.size_diff / 1024, 1),
                         "count_diff": stat.count_diff, "where": frames})
        return {"python_heap_after_warm_up_mb": round(total_warm / 2**20, 1),
                "python_heap_at_end_mb": round(total_end / 2**20, 1),
                "grew_most": rows}


def growth(checkpoints: list[dict[str, Any]], key: str) -> dict[str, Any]:
    """A figure after warm-up vs at the end: memory must not grow by more than 5%."""
    warm = checkpoints[max(0, round(len(checkpoints) * WARM_UP_SHARE) - 1)]
    last = checkpoints[-1]
    peak = max(c[key] for c in checkpoints[checkpoints.index(warm):])
    return {"after_warm_up": warm[key], "at_end": last[key], "peak_after_warm_up": peak,
            "growth_pct": round((last[key] - warm[key]) / warm[key] * 100, 2),
            "warm_up_ends_at_checkpoint": checkpoints.index(warm)}


def bounded(checkpoints: list[dict[str, Any]]) -> dict[str, Any]:
    """The largest value each buffer reached after the first checkpoint (a bound holds when
    the maximum stops growing)."""
    def flat(c: dict[str, Any]) -> dict[str, int]:
        b = c["buffers"]
        out = {k: v for k, v in b.items() if isinstance(v, int)}
        out.update({f"face.{k}": v for k, v in (b["face_buffers"] or {}).items()})
        out.update({f"queue.{k}": v for k, v in b["output_queues"].items()})
        return out

    rows = [flat(c) for c in checkpoints]
    half = len(rows) // 2
    return {k: {"max_first_half": max((r.get(k, 0) for r in rows[:half]), default=0),
                "max_second_half": max((r.get(k, 0) for r in rows[half:]), default=0)}
            for k in rows[-1] if k != "synthesis_evicted"}


def allocator_checkpoint(args: argparse.Namespace) -> dict[str, Any]:
    """``--trim``: the RSS once malloc has given back what it holds free (what the RSS would
    be without fragmentation); the next checkpoint starts from there."""
    if not args.trim:
        return {}
    from studio.core.allocator import release_free_memory

    started = time.perf_counter()
    release_free_memory()
    return {"rss_after_trim_mb": round(rss_mb(), 1),
            "trim_ms": round((time.perf_counter() - started) * 1000, 1)}


def allocator_settings(args: argparse.Namespace) -> dict[str, Any]:
    """How malloc ran: the product's tuning (``studio.core.allocator``, as ``studio run`` and
    the window set it at start) or glibc's defaults, and any MALLOC_* variables."""
    from studio.core.allocator import release_figures

    return {"tuning": args.allocator_tuning or "none: glibc defaults (--glibc-defaults)",
            "periodic_releases": release_figures(),
            **{name: os.environ[name] for name in os.environ if name.startswith("MALLOC_")},
            "trim_at_checkpoints": args.trim}


def _show_minutes(checkpoint: dict[str, Any]) -> float:
    if "show_hours" in checkpoint:
        return float(checkpoint["show_hours"]) * 60
    return float(checkpoint["wall_minutes"])  # on air: show time is wall time


def per_show_minute(checkpoints: list[dict[str, Any]], key: str = "rss_mb"
                    ) -> dict[str, float | None]:
    """Growth after warm-up in MB per minute of show time: end against warm-up, and the
    least-squares trend through every checkpoint after warm-up (RSS swings by several MB
    from one checkpoint to the next as malloc reuses and gives back memory; the trend
    does not)."""
    rows = checkpoints[max(0, round(len(checkpoints) * WARM_UP_SHARE) - 1):]
    if len(rows) < 2 or key not in rows[-1]:
        return {"end_vs_warm_up": None, "trend": None}
    xs = [_show_minutes(c) for c in rows]
    ys = [float(c[key]) for c in rows]
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    spread = sum((x - mean_x) ** 2 for x in xs)
    trend = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / spread \
        if spread else None
    minutes = xs[-1] - xs[0]
    return {"end_vs_warm_up": round((ys[-1] - ys[0]) / minutes, 3) if minutes else None,
            "trend": round(trend, 3) if trend is not None else None}


class Report:
    """The JSON written as the run goes: header, checkpoints so far, and the summary."""

    def __init__(self, path: Path | None, header: dict[str, Any]) -> None:
        self.path = path
        self.data: dict[str, Any] = {**header, "finished": False, "checkpoints": []}

    def checkpoint(self, row: dict[str, Any]) -> None:
        self.data["checkpoints"].append(row)
        self.write()

    def write(self) -> None:
        if self.path is None:
            return
        tmp = self.path.with_name(f".{self.path.name}.part")
        tmp.write_text(json.dumps(self.data, indent=1), encoding="utf-8")
        tmp.replace(self.path)

    def finish(self, summary: dict[str, Any]) -> None:
        self.data.update(summary, finished=True)
        self.write()
        print(json.dumps(self.data, indent=1))


def header(args: argparse.Namespace, mode: str) -> dict[str, Any]:
    return {"bench": "soak", "mode": mode, "date": time.strftime("%Y-%m-%d"),
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "cpu_count": os.cpu_count(),
            "load_average_at_start": load_average(), "size": args.size, "fps": args.fps,
            "voice": args.voice, "show": "demo (Ava), looping, voice replaced",
            "note": "other work ran on this machine meanwhile: see load_average"}


def run_show_time(args: argparse.Namespace, width: int, height: int) -> None:
    """A day (``--show-hours``) of show time, unpaced."""
    from studio.core.clock import MediaClock
    from studio.engine.events import Event, Problem, SentenceStarted, ShowEnded
    from studio.engine.live import LiveEngine

    fps = Fraction(args.fps)
    clock = MediaClock(fps)
    counter = make_counter_class()(clock)
    before = process_figures()
    fds_before = fd_targets()
    trace = HeapTrace(args.trace)
    show = soak_show(args.voice)
    voice = None if args.synthesise_every_line else RepeatedLines(load_soak_voice(show))
    outputs: list[Any] = [counter]
    udp: UdpCounter | None = None
    folder = Path(tempfile.mkdtemp(prefix="bench-soak-"))
    # the real-time soak's outputs, unpaced (no stalls, no drops)
    from studio.outputs.base import parse_target

    if "mp4" in args.with_outputs:
        outputs.append(parse_target(str(folder / "soak.mp4")))
    if "udp" in args.with_outputs:
        udp = UdpCounter()
        outputs.append(parse_target(f"udp://127.0.0.1:{udp.port}"))
    engine = LiveEngine(show, width_px=width, height_px=height, fps=fps,
                        outputs=outputs, realtime=False, tts=voice)
    said = {"sentences": 0, "rounds_ended": 0, "problems": 0}
    times_said: dict[str, int] = {}

    def on_event(event: Event) -> None:
        if isinstance(event, SentenceStarted):
            said["sentences"] += 1
            times_said[event.text] = times_said.get(event.text, 0) + 1
        elif isinstance(event, ShowEnded):
            said["rounds_ended"] += 1
        elif isinstance(event, Problem):
            said["problems"] += 1

    engine.subscribe(on_event)
    total_frames = int(args.show_hours * 3600 * fps)
    n_checkpoints = args.checkpoints
    step = max(1, total_frames // n_checkpoints)
    report = Report(args.json_out, {**header(args, "show-time, unpaced"),
                                    "show_hours": args.show_hours, "frames": total_frames,
                                    "process_before_engine": before})
    warm_up_checkpoint = max(0, round(n_checkpoints * WARM_UP_SHARE) - 1)
    started = time.perf_counter()
    done = 0
    while done < total_frames:
        n = min(step, total_frames - done)
        engine.run_frames(n)
        done += n
        wall = time.perf_counter() - started
        report.checkpoint({
            "show_hours": round(done / float(fps) / 3600, 3), "wall_s": round(wall, 1),
            **process_figures(), **allocator_checkpoint(args), "sentences_said":
            said["sentences"], "distinct_sentences": len(times_said),
            "problems": said["problems"], "av": counter.account(),
            "buffers": engine_buffers(engine)})
        if len(report.data["checkpoints"]) == warm_up_checkpoint + 1:
            trace.warm_up_ended()
        print(f"soak: {done / float(fps) / 3600:.2f} h of show time in {wall:.0f} s, "
              f"RSS {rss_mb():.0f} MB", file=sys.stderr, flush=True)
    wall = time.perf_counter() - started
    anonymous_at_end = anonymous_memory()
    python_heap = trace.report()
    engine.close()
    time.sleep(0.5)
    if udp is not None:
        udp.close()
    for leftover in folder.glob("*"):
        leftover.unlink()
    folder.rmdir()
    after = {**process_figures(), "fds_left_open": fds_opened_since(fds_before),
             "os_thread_names": os_thread_names()}
    cps = report.data["checkpoints"]
    rounds = max(times_said.values(), default=0)
    report.finish({
        "wall_s": round(wall, 1),
        "x_real_time_unpaced": round(args.show_hours * 3600 / wall, 1),
        "speech": "every line synthesised" if voice is None else
                  f"{voice.synthesised} lines synthesised, {voice.reused} said again from a "
                  "copy of their first clip",
        "with_outputs": " + ".join(args.with_outputs) or "none (a counting output)",
        "allocator": allocator_settings(args),
        "rss_mb_per_show_minute_after_warm_up": per_show_minute(cps),
        "cpu_s_per_show_minute_after_warm_up": per_show_minute(cps, "cpu_s")["end_vs_warm_up"],
        "minor_faults_per_show_minute_after_warm_up":
            per_show_minute(cps, "minor_faults")["end_vs_warm_up"],
        **({"rss_after_trim": growth(cps, "rss_after_trim_mb"),
            "rss_after_trim_mb_per_show_minute": per_show_minute(cps, "rss_after_trim_mb"),
            "trim_ms_max": max(c["trim_ms"] for c in cps)} if args.trim else {}),
        "anonymous_memory_at_end": anonymous_at_end,
        "python_heap": python_heap,
        "show_loops": {"sentences_said": said["sentences"],
                       "distinct_sentences": len(times_said),
                       "rounds_of_the_run_down_about": rounds,
                       # the intro is said once; every other line once a round
                       "times_each_line_was_said": sorted(set(times_said.values())),
                       "show_ended_events": said["rounds_ended"],
                       "problems": said["problems"]},
        "rss": growth(cps, "rss_mb"),
        "rss_growth_ok": growth(cps, "rss_mb")["growth_pct"] < RSS_GROWTH_LIMIT * 100,
        "open_fds": growth(cps, "open_fds"), "os_threads": growth(cps, "os_threads"),
        "av_drift_samples_max_abs": max(c["av"]["drift_samples_max_abs"] for c in cps),
        "av_drift_frames": cps[-1]["av"]["drift_frames"],
        "buffers_max": bounded(cps),
        "process_after_close": after,
    })


class UdpCounter:
    """Receives the UDP stream on 127.0.0.1: counts datagrams and bytes (a socket thread)."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.5)
        self.port = int(self.sock.getsockname()[1])
        self.datagrams = 0
        self.bytes = 0
        self.longest_silence_s = 0.0
        self._last = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="soak-udp", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                data = self.sock.recv(65536)
            except TimeoutError:
                continue
            now = time.monotonic()
            if self._last:
                self.longest_silence_s = max(self.longest_silence_s, now - self._last)
            self._last = now
            self.datagrams += 1
            self.bytes += len(data)

    def figures(self) -> dict[str, Any]:
        return {"datagrams": self.datagrams, "bytes": self.bytes,
                "longest_silence_s": round(self.longest_silence_s, 3)}

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.sock.close()


def read_recording(path: Path) -> dict[str, Any]:
    """The MP4's video frames and each stream's duration, from its packets (PyAV demux)."""
    import av

    frames = 0
    ends: dict[str, float] = {}
    starts: dict[str, float] = {}
    with av.open(str(path)) as container:
        for packet in container.demux():
            stream = packet.stream
            if packet.pts is None or stream.time_base is None:
                continue
            kind = stream.type
            t0 = float(packet.pts * stream.time_base)
            t1 = float((packet.pts + (packet.duration or 0)) * stream.time_base)
            starts[kind] = min(starts.get(kind, t0), t0)
            ends[kind] = max(ends.get(kind, t1), t1)
            if kind == "video":
                frames += 1
    video_s = ends["video"] - starts["video"]
    audio_s = ends["audio"] - starts["audio"]
    return {"video_frames": frames, "video_s": round(video_s, 4), "audio_s": round(audio_s, 4),
            "audio_minus_video_s": round(audio_s - video_s, 4),
            "audio_start_minus_video_start_s": round(starts["audio"] - starts["video"], 4),
            "bytes": path.stat().st_size}


def run_realtime(args: argparse.Namespace, width: int, height: int) -> None:
    """``--minutes`` on air, paced, into an MP4 and a UDP stream."""
    from studio.core.clock import MediaClock
    from studio.engine.events import Event, FrameDelivered, OutputsChanged, Problem, Status
    from studio.engine.live import LiveEngine
    from studio.outputs.base import parse_target

    fps = Fraction(args.fps)
    clock = MediaClock(fps)
    frame_s = 1 / float(fps)
    counter = make_counter_class()(clock)
    udp = UdpCounter()
    folder = Path(args.keep_dir or tempfile.mkdtemp(prefix="bench-soak-"))
    folder.mkdir(parents=True, exist_ok=True)
    recording = folder / "soak.mp4"
    before = process_figures()
    fds_before = fd_targets()
    engine = LiveEngine(soak_show(args.voice), width_px=width, height_px=height, fps=fps,
                        outputs=[parse_target(str(recording)),
                                 parse_target(f"udp://127.0.0.1:{udp.port}"), counter])
    lock = threading.Lock()
    seen: dict[str, Any] = {"delivered": 0, "late_1.5": 0, "lateness_max_s": 0.0,
                            "interval_max_s": 0.0, "problems": [], "states": {},
                            "status": None}
    origin: list[float | None] = [None, None]  # earliest (wall - pts), last arrival

    def on_event(event: Event) -> None:
        with lock:
            if isinstance(event, FrameDelivered):
                now = time.monotonic()
                offset = now - event.pts_samples / clock.sample_rate_hz
                seen["delivered"] += 1
                earliest = origin[0]
                if earliest is None or offset < earliest:
                    earliest = origin[0] = offset
                seen["lateness_max_s"] = max(seen["lateness_max_s"], offset - earliest)
                if origin[1] is not None:
                    interval = now - origin[1]
                    seen["interval_max_s"] = max(seen["interval_max_s"], interval)
                    if interval > 1.5 * frame_s:
                        seen["late_1.5"] += 1
                origin[1] = now
            elif isinstance(event, Status):
                seen["status"] = event
            elif isinstance(event, OutputsChanged):
                for h in event.outputs:
                    states = seen["states"].setdefault(h.name, [])
                    if not states or states[-1] != h.state.value:
                        states.append(h.state.value)
            elif isinstance(event, Problem) and len(seen["problems"]) < 50:
                seen["problems"].append({"code": event.code, "message": event.message})

    engine.subscribe(on_event)
    report = Report(args.json_out, {**header(args, "real time, outputs: mp4 + udp"),
                                    "minutes": args.minutes, "recording": str(recording),
                                    "process_before_engine": before})
    engine.start()
    while seen["delivered"] < 60:  # warm-up: the voice loaded, the first frames out
        time.sleep(0.05)
    with lock:  # lateness is measured from here on
        seen["lateness_max_s"], seen["late_1.5"], seen["interval_max_s"] = 0.0, 0, 0.0
        origin[0] = None
    started = time.monotonic()
    total_s = args.minutes * 60
    every_s = max(5.0, total_s / args.checkpoints)
    next_at = every_s
    while True:
        elapsed = time.monotonic() - started
        if elapsed < next_at:
            time.sleep(min(1.0, next_at - elapsed))
            continue
        with lock:
            status = seen["status"]
            delivered = seen["delivered"]
            late = {"late_intervals_over_1.5_frames": seen["late_1.5"],
                    "frame_interval_max_ms": round(seen["interval_max_s"] * 1000, 1),
                    "lateness_max_ms": round(seen["lateness_max_s"] * 1000, 1)}
        report.checkpoint({
            "wall_minutes": round(elapsed / 60, 2),
            "show_s": round(status.elapsed_s, 2) if status else None,
            **process_figures(),
            "frames_delivered": status.frames_delivered if status else delivered,
            "frames_dropped": status.frames_dropped if status else None,
            "preview_frames": delivered, **late,
            "outputs": {h.name: {"state": h.state.value, "frames_sent": h.frames_sent,
                                 "frames_dropped": h.frames_dropped,
                                 "kbps": round(h.bitrate_bps / 1000, 1)}
                        for h in engine.outputs},
            "udp_received": udp.figures(),
            "av": counter.account(), "buffers": engine_buffers(engine)})
        print(f"soak: {elapsed / 60:.1f} min on air, RSS {rss_mb():.0f} MB, "
              f"load {load_average()[0]}", file=sys.stderr, flush=True)
        if elapsed >= total_s:
            break
        next_at += every_s
    anonymous_at_end = anonymous_memory()
    engine.stop()
    final_health = {h.name: h for h in engine.outputs}  # each as it ended
    time.sleep(1.0)
    udp_figures = udp.figures()
    udp.close()
    after = {**process_figures(), "fds_left_open": fds_opened_since(fds_before),
             "os_thread_names": os_thread_names()}
    file_health = next(h for h in final_health.values() if h.kind == "file")
    try:
        readback: dict[str, Any] = read_recording(recording)
    except Exception as exc:  # reported, not raised: the checkpoints are the result too
        readback = {"error": f"{type(exc).__name__}: {exc}"}
    cps = report.data["checkpoints"]
    status = seen["status"]
    frames_to_file = file_health.frames_sent
    summary: dict[str, Any] = {
        "on_air_minutes": round((time.monotonic() - started) / 60, 2),
        "frames_delivered": status.frames_delivered if status else None,
        "frames_dropped": status.frames_dropped if status else None,
        "frames_to_outputs": counter.frames,
        "late": {k: cps[-1][k] for k in ("late_intervals_over_1.5_frames",
                                         "frame_interval_max_ms", "lateness_max_ms")},
        "output_states": seen["states"],
        "outputs_at_end": {n: {"state": h.state.value, "frames_sent": h.frames_sent,
                               "frames_dropped": h.frames_dropped,
                               "reconnects": h.reconnects}
                           for n, h in final_health.items()},
        "udp_received": udp_figures,
        "recording": readback,
        "problems": seen["problems"],
        "rss": growth(cps, "rss_mb"),
        "rss_growth_ok": growth(cps, "rss_mb")["growth_pct"] < RSS_GROWTH_LIMIT * 100,
        "rss_mb_per_minute_after_warm_up": per_show_minute(cps),
        "open_fds": growth(cps, "open_fds"), "os_threads": growth(cps, "os_threads"),
        "av_drift_samples_max_abs": counter.drift_samples_max_abs,
        "av_drift_frames": counter.drift_frames,
        "buffers_max": bounded(cps),
        "allocator": allocator_settings(args),
        "anonymous_memory_at_end": anonymous_at_end,
        "process_after_stop": after,
    }
    if "video_frames" in readback:
        summary["recording_checks"] = {
            "video_frames_equal_frames_recorded": readback["video_frames"] == frames_to_file,
            "video_frames_equal_frames_to_outputs": readback["video_frames"] == counter.frames,
            "video_s_equals_frames_x_period": abs(
                readback["video_s"] - counter.frames * frame_s) < 1e-3,
            "audio_within_one_frame_of_video": abs(readback["audio_minus_video_s"]) <= frame_s,
        }
    if not args.keep_dir:
        recording.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            folder.rmdir()
    report.finish(summary)


def run_voice_rounds(args: argparse.Namespace) -> None:
    """``--voice-rounds N``: the voice alone says the show's lines N times over; RSS and
    malloc's figures after each round (the voice's own memory, outside the engine)."""
    from studio.core.allocator import heap_figures
    from studio.voice.text import split_paragraphs, split_sentences

    show = soak_show(args.voice)
    before = process_figures()
    voice = load_soak_voice(show)
    texts = [show.show.intro, *(p.script for p in show.products), show.show.outro]
    lines = [s for t in texts if t for p in split_paragraphs(t) for s in split_sentences(p)]
    report = Report(args.json_out, {**header(args, "the voice alone"), "rounds": args.voice_rounds,
                                    "lines": len(lines), "process_before_voice": before,
                                    "process_with_voice_loaded": process_figures()})
    started = time.perf_counter()
    for n in range(1, args.voice_rounds + 1):
        for line in lines:
            voice.synthesize(line)
        report.checkpoint({"round": n, "wall_s": round(time.perf_counter() - started, 1),
                           "rss_mb": round(rss_mb(), 1), "malloc": heap_figures()})
    cps = report.data["checkpoints"]
    report.finish({
        "wall_s_per_line": round((time.perf_counter() - started) / (len(lines) * len(cps)), 3),
        "rss_after_round_1_mb": cps[0]["rss_mb"], "rss_at_end_mb": cps[-1]["rss_mb"],
        "rss_peak_mb": max(c["rss_mb"] for c in cps),
        "rss_growth_after_round_1_mb": round(cps[-1]["rss_mb"] - cps[0]["rss_mb"], 1),
        "allocator": allocator_settings(args)})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--realtime", action="store_true",
                        help="on air in real time with an MP4 and a UDP stream")
    parser.add_argument("--show-hours", type=float, default=24.0,
                        help="unpaced: hours of show time (default 24)")
    parser.add_argument("--minutes", type=float, default=60.0,
                        help="--realtime: minutes on air (default 60)")
    parser.add_argument("--fps", default=None, help="default 1 unpaced, 30 in real time")
    parser.add_argument("--size", default=None, help="default 160x90 unpaced, 640x360 live")
    parser.add_argument("--voice", default=SOAK_VOICE)
    parser.add_argument("--with-outputs", nargs="?", const="mp4,udp", default="",
                        help="unpaced: also into an MP4 and a UDP stream, as --realtime "
                             "(or only one: --with-outputs mp4, --with-outputs udp)")
    parser.add_argument("--trace", action="store_true",
                        help="unpaced: tracemalloc on; the Python allocations that grew "
                             "most between the end of warm-up and the end")
    parser.add_argument("--voice-rounds", type=int, default=0,
                        help="the voice alone: say the show's lines this many times over, "
                             "RSS after each round (no engine, no outputs)")
    parser.add_argument("--glibc-defaults", action="store_true",
                        help="leave malloc as glibc sets it (no arena limit, no periodic "
                             "release), to compare with what studio run and the window do")
    parser.add_argument("--trim", action="store_true",
                        help="unpaced: malloc_trim(0) at each checkpoint, and the RSS after "
                             "it (memory freed but not given back shows as the difference)")
    parser.add_argument("--synthesise-every-line", action="store_true",
                        help="unpaced: synthesise each round's lines again (hours, not "
                             "minutes, for a show-day)")
    parser.add_argument("--checkpoints", type=int, default=None,
                        help="default 48 unpaced, one a minute in real time")
    parser.add_argument("--json-out", type=Path, default=None,
                        help="also write the JSON here, rewritten at every checkpoint")
    parser.add_argument("--keep-dir", default=None, help="--realtime: keep the MP4 here")
    args = parser.parse_args()
    from studio.core.allocator import tune_for_long_runs

    # as studio run and the window do at start, before any thread starts
    args.allocator_tuning = {} if args.glibc_defaults else tune_for_long_runs()
    args.with_outputs = [o for o in args.with_outputs.replace(" ", "").split(",") if o]
    unknown = set(args.with_outputs) - {"mp4", "udp"}
    if unknown:
        parser.error(f"--with-outputs: {', '.join(sorted(unknown))} is not mp4 or udp")
    if args.fps is None:
        args.fps = "30" if args.realtime else "1"
    if args.size is None:
        args.size = "640x360" if args.realtime else "160x90"
    if args.checkpoints is None:
        args.checkpoints = max(2, round(args.minutes)) if args.realtime else 48
    from studio.core.clock import parse_fps

    args.fps = str(parse_fps(args.fps))
    width, height = (int(v) for v in args.size.lower().split("x"))
    if args.voice_rounds:
        run_voice_rounds(args)
    elif args.realtime:
        run_realtime(args, width, height)
    else:
        run_show_time(args, width, height)


if __name__ == "__main__":
    main()
