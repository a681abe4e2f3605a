"""The as-run log: what went on air and when, as JSON lines, one file per UTC day.

Live-commerce rules want what was said and claimed on a stream kept on record. Every run
(``studio run``, a show on air in the window, ``studio render``) appends records to
``asrun-YYYY-MM-DD.jsonl`` in one folder: the run's start (the show file and its SHA-256)
and end, each sentence with its start on the show clock and the wall clock, each product
card shown (name and price as the card shows them), each takeover with who was on air, each
problem, each output's state change, and the implicit AIGC label (ProduceID) of every
recording. The log subscribes to the engine's typed events (``studio.engine.events``); the
render hands it the same events from its timeline (``timeline_events``).

It never holds up the frame loop: the engine's thread only builds a small dict and puts it
on a bounded queue; a thread of its own serialises and writes each line with one
``write`` (flushed, so a crash loses nothing written) and ``fsync``s every few seconds.
A folder that cannot be written (a full disk, no permission) is one ``Problem``
(``asrun.write_failed``); records wait in memory (bounded) and are written when the folder
works again, after a ``log_outage`` record. The folder stays bounded: files older than
``keep_days`` are deleted, and a day's file that reaches ``max_file_bytes`` rolls to
``.1``, ``.2`` … (at most ``max_rolls``; the oldest roll goes).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import logging
import os
import queue
import re
import socket
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any, Protocol

from studio import __version__
from studio.engine.events import (
    Event,
    FrameDelivered,
    ModeChanged,
    OutputsChanged,
    Problem,
    ProductShown,
    RecordingStarted,
    RunEnded,
    SentenceCut,
    SentenceStarted,
    ShowEnded,
    WordTiming,
)
from studio.outputs.base import OutputState, redact
from studio.outputs.mp4 import AVATAR_TAG
from studio.program.rundown import LineKind
from studio.program.timeline import Timeline
from studio.show.model import Product, Show

_LOG = logging.getLogger("studio.asrun")

AS_RUN_VERSION = 1
DEFAULT_KEEP_DAYS = 31
DEFAULT_MAX_FILE_BYTES = 16 * 1024 * 1024  # ~a month of sentences for one room, per day
DEFAULT_MAX_ROLLS = 9  # a day never takes more than (1 + this) x the size cap
MAX_PENDING_RECORDS = 10_000  # on their way to the writer thread
MAX_BACKLOG_RECORDS = 20_000  # kept while the folder cannot be written (~hours of show)
RETRY_S = 5.0  # a folder that failed is tried again this often
FSYNC_EVERY_S = 5.0
FILE_RE = re.compile(r"^asrun-(\d{4}-\d{2}-\d{2})\.jsonl(?:\.(\d+))?$")

ROLES = {"ai": "AI host", "human": "human on camera", "puppet": "human driving the avatar"}


def default_as_run_dir() -> Path:
    """$LIVEHOST_AS_RUN_DIR when set, else ``as-run`` in the user's data folder."""
    override = os.environ.get("LIVEHOST_AS_RUN_DIR")
    if override:
        return Path(override).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("livehost-studio")) / "as-run"


def day_file_name(day: date) -> str:
    return f"asrun-{day.isoformat()}.jsonl"


def _likeness(show: Show | None) -> dict[str, str] | None:
    """The consent record's identifiers of the likeness on air (None: the stylised host);
    a refused one is named by the refusal the run then reports."""
    if show is None:
        return None
    from studio.avatar.base import AvatarRefused
    from studio.avatar.package import likeness_identifiers

    try:
        return likeness_identifiers(show.host, show.base_dir) or None
    except AvatarRefused as exc:
        return {"refused": str(exc)}


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


def utc_text(moment: datetime) -> str:
    """ISO 8601 in UTC to the millisecond: 2026-12-02T13:48:27.123Z."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def read_records(folder: Path) -> list[dict[str, Any]]:
    """Every record in a folder, oldest file first (tests, tools); lines that do not parse
    are skipped."""
    def order(path: Path) -> tuple[str, int]:
        m = FILE_RE.match(path.name)
        assert m is not None
        return m.group(1), -int(m.group(2) or 0)  # a day's oldest roll first

    records: list[dict[str, Any]] = []
    for path in sorted((p for p in folder.iterdir() if FILE_RE.match(p.name)), key=order):
        for line in path.read_text(encoding="utf-8").splitlines():
            with contextlib.suppress(ValueError):
                records.append(json.loads(line))
    return records


class DayFiles:
    """The folder's files: today's file by name, rolled by size, old days deleted. Used on
    the writer thread only; every method may raise ``OSError``."""

    def __init__(self, folder: Path, keep_days: int = DEFAULT_KEEP_DAYS,
                 max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
                 max_rolls: int = DEFAULT_MAX_ROLLS) -> None:
        if keep_days < 1 or max_file_bytes < 1024 or max_rolls < 0:
            raise ValueError("keep_days >= 1, max_file_bytes >= 1024 and max_rolls >= 0")
        self.folder = folder
        self.keep_days = keep_days
        self.max_file_bytes = max_file_bytes
        self.max_rolls = max_rolls
        self._day: date | None = None
        self._fd: int | None = None
        self._ino = 0
        self._synced_at = time.monotonic()

    def path_for(self, day: date, roll: int = 0) -> Path:
        return self.folder / (day_file_name(day) + (f".{roll}" if roll else ""))

    def write(self, day: date, line: bytes) -> None:
        """Append one whole line to ``day``'s file (a line cut short by a full disk is
        taken back, so the file holds whole lines only)."""
        if day != self._day:
            self.close()
            self.folder.mkdir(parents=True, exist_ok=True)
            self.prune(day)
            self._day = day
        path = self.path_for(day)
        self._reopen_if_moved(path)
        fd = self._open(path)
        size = os.fstat(fd).st_size
        if size and size + len(line) > self.max_file_bytes:
            self._roll(day)
            fd = self._open(path)
            size = 0
        try:
            done = 0
            while done < len(line):
                done += os.write(fd, line[done:])
        except OSError:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, size)
            raise
        now = time.monotonic()
        if now - self._synced_at >= FSYNC_EVERY_S:
            self._synced_at = now
            os.fsync(fd)

    def _open(self, path: Path) -> int:
        if self._fd is None:
            self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            self._ino = os.fstat(self._fd).st_ino
        return self._fd

    def _reopen_if_moved(self, path: Path) -> None:
        """Another process rolled or removed the file: write to the one by that name."""
        if self._fd is None:
            return
        try:
            moved = os.stat(path).st_ino != self._ino
        except FileNotFoundError:
            moved = True
        if moved:
            self.close()

    def _roll(self, day: date) -> None:
        self.close()
        if self.max_rolls == 0:
            self.path_for(day).unlink(missing_ok=True)
            return
        self.path_for(day, self.max_rolls).unlink(missing_ok=True)
        for roll in range(self.max_rolls - 1, 0, -1):
            older = self.path_for(day, roll)
            if older.exists():
                older.rename(self.path_for(day, roll + 1))
        self.path_for(day).rename(self.path_for(day, 1))

    def prune(self, today: date) -> list[Path]:
        """Delete the files of days before the last ``keep_days`` (today included)."""
        oldest = today - timedelta(days=self.keep_days - 1)
        removed: list[Path] = []
        for entry in self.folder.iterdir():
            m = FILE_RE.match(entry.name)
            if m is None:
                continue
            try:
                day = date.fromisoformat(m.group(1))
            except ValueError:
                continue
            if day < oldest:
                entry.unlink(missing_ok=True)
                removed.append(entry)
        return removed

    def close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.fsync(fd)
            os.close(fd)


class LiveSource(Protocol):
    """What ``AsRunLog.attach`` needs of ``studio.engine.live.LiveEngine``."""

    width_px: int
    height_px: int
    fps: Fraction
    show_path: Path | None

    @property
    def show(self) -> Show: ...
    @property
    def sample_rate_hz(self) -> int: ...
    @property
    def mode(self) -> Any: ...
    def subscribe(self, callback: Callable[[Event], None]) -> None: ...
    def report(self, problem: Problem) -> None: ...


_STOP = object()


class AsRunLog:
    """One run's records, written on a thread of its own. ``on_event`` is the engine's
    subscriber; ``close`` (or the engine's ``RunEnded``) ends the run."""

    def __init__(self, folder: Path, *, keep_days: int = DEFAULT_KEEP_DAYS,
                 max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
                 max_rolls: int = DEFAULT_MAX_ROLLS,
                 now: Callable[[], datetime] | None = None,
                 on_problem: Callable[[Problem], None] | None = None,
                 max_backlog: int = MAX_BACKLOG_RECORDS, retry_s: float = RETRY_S) -> None:
        self.folder = folder
        self.files = DayFiles(folder, keep_days, max_file_bytes, max_rolls)
        self.run_id = str(uuid.uuid4())
        self.on_problem = on_problem
        self._now = now or (lambda: datetime.now(UTC))
        self._queue: queue.Queue[object] = queue.Queue(MAX_PENDING_RECORDS)
        self._backlog: deque[tuple[date, dict[str, Any]]] = deque()
        self._max_backlog = max_backlog
        self._lock = threading.Lock()  # seq and the run's state; events come on many threads
        self._seq = 0
        self._rate = 48_000
        self._started = False
        self._ended = False
        self._last_frame_samples = 0
        self._outputs: dict[str, tuple[str, str]] = {}  # name -> (state, reason)
        self._names: dict[str, str] = {}  # product id -> name
        self._host_name = ""
        self.operator = ""
        self.records_dropped = 0  # the queue was full (a writer stuck on a hung disk)
        self.records_lost = 0  # the backlog overflowed while the folder could not be written
        self.failing: str = ""  # why the folder cannot be written now ("" while it can)
        self._outage: tuple[str, str] | None = None  # (since, error) of the current outage
        self._retry_at = 0.0
        self._retry_s = retry_s
        self._overflow_reported = False
        self._stop_requested = False
        self._end_samples: int | None = None
        self.end_on_run_ended = True  # False: the caller ends the run (with its reason)
        self._thread = threading.Thread(target=self._run, name="as-run-log", daemon=True)
        self._thread.start()

    # --- the run ----------------------------------------------------------------------------
    def start_run(self, *, source: str, show: Show | None, show_path: Path | None,
                  sample_rate_hz: int = 48_000, fps: Fraction = Fraction(30),
                  size: tuple[int, int] = (1280, 720), mode: str = "ai",
                  operator: str = "", out_path: Path | None = None) -> None:
        """The run's first record: what is on air (the show file and its SHA-256)."""
        sha = ""
        if show_path is not None:
            try:
                sha = file_sha256(show_path)
            except OSError as exc:
                _LOG.warning("as-run log: %s cannot be read for its SHA-256: %s", show_path,
                             exc)
        with self._lock:
            self._rate = sample_rate_hz
            self._started = True
            self.operator = operator
            if show is not None:
                self._host_name = show.host.name
                self._names = {p.id: p.name for p in show.products}
        self._put("run_start", {
            "source": source,
            "show_path": str(show_path.resolve()) if show_path is not None else None,
            "show_sha256": sha or None,
            "show_title": show.show.title if show is not None else None,
            "language": show.show.language if show is not None else None,
            "host_name": self._host_name,
            "avatar": _likeness(show),
            "operator": operator,
            "mode": mode,
            "sample_rate_hz": sample_rate_hz,
            "fps": f"{fps.numerator}/{fps.denominator}",
            "size": f"{size[0]}x{size[1]}",
            **({"out_path": str(out_path)} if out_path is not None else {}),
            "pid": os.getpid(), "machine": socket.gethostname(),
            "studio_version": __version__,
        })

    def attach(self, engine: LiveSource, *, source: str, operator: str = "",
               end_on_run_ended: bool = True) -> None:
        """Log ``engine``'s run (call before it starts): its problems writing are reported
        through the engine, its ``RunEnded`` ends the log (else the caller's ``close``)."""
        self.end_on_run_ended = end_on_run_ended
        if self.on_problem is None:
            self.on_problem = engine.report
        self.start_run(source=source, show=engine.show, show_path=engine.show_path,
                       sample_rate_hz=engine.sample_rate_hz, fps=engine.fps,
                       size=(engine.width_px, engine.height_px),
                       mode=str(getattr(engine.mode, "value", engine.mode)), operator=operator)
        engine.subscribe(self.on_event)

    def end_run(self, reason: str = "", *, end_samples: int | None = None,
                status: str = "ok", error: str = "") -> None:
        """The run's last record (once); the writer thread finishes after it."""
        with self._lock:
            if self._ended or not self._started:
                return
            self._ended = True
            end = end_samples if end_samples is not None else \
                self._end_samples if self._end_samples is not None else self._last_frame_samples
        self._put("run_end", {**self._at(end), "status": status, "reason": reason,
                              **({"error": redact(error)} if error else {}),
                              "records_dropped": self.records_dropped})
        self._stop()

    def _stop(self) -> None:
        """The writer finishes what is queued, then ends (never blocks the caller)."""
        self._stop_requested = True
        with contextlib.suppress(queue.Full):
            self._queue.put_nowait(_STOP)

    def close(self, reason: str = "", timeout_s: float = 10.0, **end: Any) -> None:
        """End the run (if the engine did not) and wait for every record to be written."""
        self.end_run(reason, **end)
        self._stop()
        self._thread.join(timeout_s)

    # --- events -----------------------------------------------------------------------------
    def on_event(self, event: Event) -> None:
        """The engine's subscriber (its thread): a record on the queue, nothing more."""
        try:
            self._record(event)
        except Exception:  # the log must never stop the show
            _LOG.exception("as-run log: %s not recorded", type(event).__name__)

    def _record(self, event: Event) -> None:
        if isinstance(event, FrameDelivered):
            self._last_frame_samples = event.pts_samples
        elif isinstance(event, SentenceStarted):
            kind = event.kind
            self._put("sentence", {
                **self._at(event.start_samples),
                "end_samples": event.end_samples, "end_s": self._s(event.end_samples),
                "kind": kind, "interjection": kind == LineKind.INTERJECTION.value,
                "product_id": event.product_id,
                "product_name": self._names.get(event.product_id or "", None),
                "index": event.sentence_index, "text": event.text})
        elif isinstance(event, SentenceCut):
            self._put("sentence_cut", {**self._at(event.at_samples),
                                       "start_samples": event.start_samples,
                                       "start_s": self._s(event.start_samples),
                                       "kind": event.kind, "product_id": event.product_id,
                                       "text": event.text})
        elif isinstance(event, ProductShown):
            p = event.product
            self._names[p.id] = p.name
            self._put("product_shown", {**self._at(event.at_samples), **_card(p),
                                        "by": event.by})
        elif isinstance(event, ModeChanged):
            self._put("takeover", {
                **self._at(event.at_samples), "mode": event.mode, "previous": event.previous,
                "on_air": self._who(event.mode), "off_air": self._who(event.previous),
                "crossfade_s": event.crossfade_s,
                "resume_text": event.resume.text if event.resume is not None else None})
        elif isinstance(event, Problem):
            self._put("problem", {
                "last_frame_s": self._s(self._last_frame_samples), "code": event.code,
                "severity": event.severity, "message": redact(event.message),
                "fix": redact(event.fix), "args": {k: redact(v) for k, v in event.args}})
        elif isinstance(event, OutputsChanged):
            self._outputs_changed(event)
        elif isinstance(event, RecordingStarted):
            tags = dict(event.metadata)
            try:
                label = json.loads(tags.get("AIGC", "{}"))
            except ValueError:
                label = {}
            try:  # the likeness on air, by its consent record (None: the stylised host)
                avatar = json.loads(tags[AVATAR_TAG]) if AVATAR_TAG in tags else None
            except ValueError:
                avatar = None
            self._put("recording", {**self._at(event.at_samples), "name": event.name,
                                    "path": event.path, "produce_id": label.get("ProduceID"),
                                    "aigc": label, "avatar": avatar, "tags": tags})
        elif isinstance(event, ShowEnded):
            self._put("rundown_ended", self._at(event.end_samples))
        elif isinstance(event, RunEnded):
            self._end_samples = event.end_samples
            if self.end_on_run_ended:  # a failed engine's run is on record as failed, and why
                self.end_run(event.reason or event.error or "the engine stopped",
                             end_samples=event.end_samples,
                             status="failed" if event.error else "ok")

    def _outputs_changed(self, event: OutputsChanged) -> None:
        """Each output's state and reason as they change (not its counters)."""
        seen = set()
        for h in event.outputs:
            seen.add(h.name)
            now = (h.state.value, redact(h.reason))
            before = self._outputs.get(h.name)
            if before == now:
                continue
            self._outputs[h.name] = now
            self._put("output", {"last_frame_s": self._s(self._last_frame_samples),
                                 "name": h.name, "kind": h.kind, "state": now[0],
                                 "previous": before[0] if before else None,
                                 "reason": now[1]})
        for name in [n for n in self._outputs if n not in seen]:
            state, _ = self._outputs.pop(name)
            if state != OutputState.STOPPED.value:
                self._put("output", {"last_frame_s": self._s(self._last_frame_samples),
                                     "name": name, "kind": None, "state": "removed",
                                     "previous": state, "reason": ""})

    def _who(self, mode: str) -> dict[str, str]:
        """Who is on air in ``mode``: the AI host (by its name), or the human (the operator's
        name when one is given) on camera or driving the avatar."""
        who = {"mode": mode, "role": ROLES.get(mode, mode)}
        if mode in ("ai", "puppet"):
            who["host_name"] = self._host_name
        if mode in ("human", "puppet"):
            who["operator"] = self.operator
        return who

    def _s(self, samples: int) -> float:
        return round(samples / self._rate, 6)

    def _at(self, samples: int) -> dict[str, Any]:
        return {"t_samples": samples, "t_s": self._s(samples)}

    def _put(self, kind: str, fields: dict[str, Any]) -> None:
        moment = self._now()
        with self._lock:
            self._seq += 1
            seq = self._seq
        record = {"v": AS_RUN_VERSION, "type": kind, "utc": utc_text(moment),
                  "run": self.run_id, "seq": seq, **fields}
        try:
            self._queue.put_nowait((moment.astimezone(UTC).date(), record))
        except queue.Full:
            self.records_dropped += 1
            if not self._overflow_reported:
                self._overflow_reported = True
                self._report(Problem(
                    f"the as-run log in {self.folder} is not keeping up (the disk does not "
                    "answer); records are being dropped", "check the disk; the show goes on",
                    code="asrun.overflow", args=(("folder", str(self.folder)),)))

    # --- the writer thread ----------------------------------------------------------------
    def _run(self) -> None:
        stopping = False
        while True:
            try:
                # Awake now and then: a stop asked while the queue was full, a retry.
                item = self._queue.get(timeout=min(1.0, self._retry_s))
            except queue.Empty:
                item = None
                stopping = self._stop_requested
            if item is _STOP:
                stopping = True
            elif isinstance(item, tuple):
                if len(self._backlog) >= self._max_backlog:
                    self._backlog.popleft()
                    self.records_lost += 1
                self._backlog.append(item)
            self._write_backlog(force=stopping)
            if stopping:
                break
        with contextlib.suppress(OSError):
            self.files.close()

    def _write_backlog(self, force: bool = False) -> None:
        if self.failing and not force and time.monotonic() < self._retry_at:
            return
        while self._backlog:
            day, record = self._backlog[0]
            try:
                if self._outage is not None:
                    self._write_outage(day)
                self.files.write(day, _line(record))
            except OSError as exc:
                self._failed(exc)
                return
            self._backlog.popleft()
        self.failing = ""

    def _write_outage(self, day: date) -> None:
        """The folder works again: say how long it did not (records kept their times)."""
        assert self._outage is not None
        since, error = self._outage
        with self._lock:
            self._seq += 1
            seq = self._seq
        self.files.write(day, _line({
            "v": AS_RUN_VERSION, "type": "log_outage", "utc": utc_text(self._now()),
            "run": self.run_id, "seq": seq, "since_utc": since, "error": error,
            "records_lost": self.records_lost}))
        self._outage = None

    def _failed(self, exc: OSError) -> None:
        self._retry_at = time.monotonic() + self._retry_s
        error = exc.strerror or str(exc)
        with contextlib.suppress(OSError):
            self.files.close()
        if self._outage is None:
            self._outage = (utc_text(self._now()), error)
        if self.failing:
            return
        self.failing = error
        full = exc.errno in {errno.ENOSPC, errno.EDQUOT}
        why = "the disk is full" if full else error
        self._report(Problem(
            f"the as-run log cannot be written in {self.folder}: {why}",
            "the show goes on; free some space or make the folder writable (or choose "
            "another with --as-run DIR), and the log catches up, records kept meanwhile",
            code="asrun.write_failed", args=(("folder", str(self.folder)), ("error", why))))

    def _report(self, problem: Problem) -> None:
        _LOG.warning("%s", problem.message)
        if self.on_problem is not None:
            try:
                self.on_problem(problem)
            except Exception:
                _LOG.exception("as-run log: its problem could not be reported")


def _line(record: dict[str, Any]) -> bytes:
    return (json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n").encode()


def _card(product: Product) -> dict[str, Any]:
    """What the product's card claims: name, price, old price, selling points."""
    return {"product_id": product.id, "name": product.name, "price": product.price,
            "currency": product.currency, "original_price": product.original_price,
            "selling_points": list(product.selling_points)}


def timeline_events(timeline: Timeline, show: Show) -> Iterator[Event]:
    """The events a live run of this timeline would have sent, in show-time order: each
    product's card at its card time, each sentence at its first sample, the run's end."""
    products = {p.id: p for p in show.products}
    items: list[tuple[int, int, Event]] = []
    for segment in timeline.segments:
        product = products.get(segment.product_id or "")
        if product is not None:
            items.append((segment.start_samples, 0, ProductShown(product,
                                                                 segment.start_samples)))
        for ts in segment.sentences:
            line = ts.line
            words = tuple(WordTiming(w.text, w.start_samples, w.end_samples) for w in ts.words)
            index = line.sentence_index if line.kind == LineKind.SCRIPT else -1
            items.append((ts.start_samples, 1, SentenceStarted(
                line.product_id, line.kind.value, index, line.text, ts.start_samples,
                ts.end_samples, words)))
    items.sort(key=lambda item: (item[0], item[1]))
    for _, _, event in items:
        yield event
