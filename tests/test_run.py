"""``studio run``: a show live with no window, into files (and failing outputs), with cues,
ending with the run-down or on SIGTERM; the files are read back by ffprobe and PyAV."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt
import pytest

from studio.cli import main
from studio.compose.compositor import StageLayout
from studio.compose.standby import render_standby
from studio.engine.cues import load_cues
from studio.run import run_live

W, H = 320, 180

SHORT = """
[show]
title = "Run Test"

[[products]]
id = "mug"
name = "Blue Mug"
price = 12
currency = "USD"
script = "This blue mug holds tea."
"""


def probe(path: Path) -> dict:  # type: ignore[type-arg]
    return json.loads(subprocess.run(  # type: ignore[no-any-return]
        ["ffprobe", "-v", "error", "-print_format", "json", "-show_format", "-show_streams",
         str(path)], check=True, capture_output=True, text=True).stdout)


def frames_at(path: Path, times_s: list[float]) -> list[npt.NDArray[np.uint8]]:
    out: list[npt.NDArray[np.uint8]] = []
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        wanted = list(times_s)
        for frame in container.decode(stream):
            while wanted and (frame.time or 0.0) >= wanted[0]:
                out.append(np.asarray(frame.to_ndarray(format="rgb24"), dtype=np.uint8))
                wanted.pop(0)
    return out


def test_run_records_files_follows_cues_and_reports_a_failed_output(
        write_show: Callable[[str], Path], tmp_path: Path) -> None:
    from tests.test_live_engine import SHOW

    show = write_show(SHOW)
    cues = tmp_path / "cues.toml"
    cues.write_text('[[cue]]\nat_s = 2.0\naction = "human"\n\n'
                    '[[cue]]\nat_s = 3.0\naction = "ai"\n', encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    mp4, ts = tmp_path / "run.mp4", tmp_path / "run.ts"
    code = run_live(show, [str(mp4), str(ts), "virtualcam"], cues_path=cues, size=(W, H),
                    for_s=4.0, status_every_s=1.0, out=out, err=err)
    # The virtual camera cannot start on this machine: reported, the files are complete.
    assert code == 1
    assert "installers/v4l2loopback.sh" in err.getvalue()
    assert "virtual camera" in out.getvalue() and "[0:00:0" in out.getvalue()
    for path in (mp4, ts):
        info = probe(path)
        assert {s["codec_type"] for s in info["streams"]} == {"video", "audio"}
        assert float(info["format"]["duration"]) == pytest.approx(4.0, abs=0.1)
    streams = {s["codec_type"]: float(s["duration"]) for s in probe(mp4)["streams"]}
    assert streams["video"] == pytest.approx(4.0, abs=1 / 30)
    assert abs(streams["video"] - streams["audio"]) <= 1 / 30
    # The cues: the standby picture (no camera is set) from 2 s to 3 s, the host before and
    # after. The product card stays over the standby: compare the rest of the picture.
    x = StageLayout.for_frame(W, H).card_rect_px[0]
    standby = render_standby(W, H)[:, :x, :3].astype(int)
    before, during, after = (f[:, :x] for f in frames_at(mp4, [1.5, 2.5, 3.5]))
    assert np.abs(during.astype(int) - standby).mean() < 4
    assert np.abs(before.astype(int) - standby).mean() > 15
    assert np.abs(after.astype(int) - standby).mean() > 15
    assert "mode ai → human at 0:00:02" in out.getvalue()


def test_run_ends_with_the_run_down(write_show: Callable[[str], Path], tmp_path: Path) -> None:
    out = tmp_path / "short.mp4"
    started = time.monotonic()
    code = run_live(write_show(SHORT), [str(out)], size=(W, H), status_every_s=60,
                    out=io.StringIO(), err=io.StringIO())
    assert code == 0
    duration = float(probe(out)["format"]["duration"])
    # One sentence (~2 s) with the lead-in and the tail: it stopped by itself, in real time.
    assert 2.0 < duration < 6.0
    assert time.monotonic() - started >= duration


def test_sigterm_stops_cleanly_and_the_file_plays(write_show: Callable[[str], Path],
                                                  tmp_path: Path) -> None:
    from tests.test_live_engine import SHOW

    show = write_show(SHOW)
    out = tmp_path / "live.mkv"
    env = {**os.environ, "EGL_PLATFORM": "surfaceless"}
    proc = subprocess.Popen([sys.executable, "-m", "studio", "run", str(show), "--out",
                             str(out), "--size", f"{W}x{H}", "--status-every", "1"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.monotonic() + 60
    assert proc.stdout is not None
    for line in proc.stdout:  # wait until it is on air and a few seconds in
        if line.startswith("[0:00:03]") or time.monotonic() > deadline:
            break
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 0, stderr
    assert "stopped by signal" in stdout
    info = probe(out)
    assert {s["codec_type"] for s in info["streams"]} == {"video", "audio"}
    assert float(info["format"]["duration"]) >= 3.0


def test_bad_targets_and_cues_are_clear(write_show: Callable[[str], Path], tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    show = write_show(SHORT)
    assert main(["run", str(show), "--out", "ftp://example/x"]) == 2
    assert "ftp:// is not a stream" in capsys.readouterr().err
    assert main(["run", str(show), "--out", "show.avi"]) == 2
    assert "rtmp://HOST/APP/KEY" in capsys.readouterr().err
    assert main(["run", str(show)]) == 2
    assert "at least one --out" in capsys.readouterr().err
    cues = tmp_path / "bad.toml"
    cues.write_text('[[cue]]\nat_s = 1\naction = "dance"\n\n[[cue]]\nat_s = -2\n'
                    'action = "takeover"\n\n[[cue]]\nat_s = 3\naction = "go_to"\n'
                    'product = "nope"\n', encoding="utf-8")
    with pytest.raises(Exception) as caught:
        load_cues(cues, ["mug"])
    message = str(caught.value)
    assert "3 problems" in message
    assert ":1: cue 1: unknown action 'dance'" in message and "takeover" in message
    assert ":5: cue 2: at_s must be" in message
    assert "one of the show's ids: mug" in message
    assert main(["run", str(show), "--out", str(tmp_path / "x.mp4"), "--cues", str(cues)]) == 2
    assert not (tmp_path / "x.mp4").exists()


def test_stream_keys_never_appear(write_show: Callable[[str], Path],
                                  capsys: pytest.CaptureFixture[str]) -> None:
    show = write_show(SHORT)
    code = main(["run", str(show), "--out", "rtmp://127.0.0.1:1/live/sekrit-key-42",
                 "--out", "rtmp://127.0.0.1:1/live/sekrit-key-42", "--size", f"{W}x{H}"])
    captured = capsys.readouterr()
    assert code == 2  # named twice
    assert "sekrit-key-42" not in captured.out + captured.err
    assert "rtmp://127.0.0.1:1/live/••••" in captured.err


def test_stream_settings_are_checked_before_going_on_air(
        write_show: Callable[[str], Path], capsys: pytest.CaptureFixture[str]) -> None:
    from studio.outputs.base import OutputSpec, ProgramFormat
    from studio.outputs.stream import StreamOutput, live_video_options

    show = write_show(SHORT)
    for flag, value, expected in (("--keyint", "0.1", "keyint_s '0.1'"),
                                  ("--bitrate", "5", "bitrate_kbps '5'"),
                                  ("--preset", "ludicrous", "preset 'ludicrous'")):
        assert main(["run", str(show), "--out", "udp://127.0.0.1:5999", flag, value]) == 2
        assert expected in capsys.readouterr().err
    # A 1 s keyframe interval for a local feed: keyint = fps.
    stream = StreamOutput(OutputSpec("stream", "udp://127.0.0.1:5999", (("keyint_s", "1"),)))
    stream.check(ProgramFormat(W, H, Fraction(30)))
    assert stream.keyint_s == 1.0
    assert "keyint=30:min-keyint=30" in live_video_options(Fraction(30), 2500,
                                                           keyint_s=1.0)["x264-params"]
