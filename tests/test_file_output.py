"""Recordings as outputs: every frame kept, and a full disk stops only the recording."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from studio.engine.events import Event, FrameDelivered, OutputsChanged, Problem
from studio.engine.live import LiveEngine
from studio.outputs.base import OutputSpec, OutputState
from studio.show.loader import load_show
from tests.test_live_engine import SHOW
from tests.test_run import probe

W, H = 320, 180


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 64 KiB file system (tmpfs; the tests run as root, as CI does)."""
    mount = tmp_path / "small"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)],
                   check=True, capture_output=True)
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False, capture_output=True)


def test_a_full_disk_stops_the_recording_not_the_show(
        small_disk: Path, tmp_path: Path, write_show: Callable[[str], Path],
        piper_voice: object) -> None:
    events: list[Event] = []
    full, safe = small_disk / "rec.mkv", tmp_path / "safe.mkv"
    engine = LiveEngine(load_show(write_show(SHOW)), width_px=W, height_px=H, realtime=False,
                        tts=piper_voice,  # type: ignore[arg-type]
                        outputs=[OutputSpec("file", str(full)), OutputSpec("file", str(safe))])
    engine.subscribe(events.append)
    engine.run_frames(300)  # 10 s: far more than 64 KiB of video
    engine.close()
    health = {h.name: h for h in engine.outputs}
    down = health[str(full)]
    assert down.state == OutputState.DOWN
    assert "the disk is full" in down.reason and "free some space" in down.reason
    problems = [e for e in events if isinstance(e, Problem)]
    assert any("the disk is full" in p.message for p in problems)
    assert any(any(h.state == OutputState.DOWN for h in e.outputs)
               for e in events if isinstance(e, OutputsChanged))
    # The show went on: every frame was delivered, and the other recording has all of them.
    assert len([e for e in events if isinstance(e, FrameDelivered)]) == 300
    assert float(probe(safe)["format"]["duration"]) == pytest.approx(10.0, abs=0.1)
