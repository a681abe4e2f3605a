"""Engine benchmark: prints one JSON object. Run: .venv/bin/python bench/bench_engine.py [--quick]

Measures the TTS real-time factor and time to first audio, milliseconds per frame for each
stage (face motion, host rendering, composition, YUV readback, encoding), and whole renders of
the demo show at 720p30 and 1080p30 (speed as a multiple of real time, peak memory), each
render in its own process so its peak RSS is its own.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path
from typing import Any

os.environ.setdefault("EGL_PLATFORM", "surfaceless")

SENTENCE = "This ceramic cup holds 250 ml, and today it's only ¥39.9, down from ¥59."


def bench_tts() -> dict[str, Any]:
    from studio.voice.piper_tts import PiperTTS

    started = time.perf_counter()
    tts = PiperTTS("en_US-joe-medium")
    load_s = time.perf_counter() - started
    tts.synthesize("Warm up.")
    first = time.perf_counter()
    clip = tts.synthesize(SENTENCE)
    first_audio_s = time.perf_counter() - first
    runs = []
    for _ in range(3):
        t = time.perf_counter()
        clip = tts.synthesize(SENTENCE)
        runs.append((time.perf_counter() - t) / (clip.n_samples / clip.sample_rate_hz))
    return {"voice": tts.name, "execution_provider": tts.execution_provider,
            "load_s": round(load_s, 3), "time_to_first_audio_s": round(first_audio_s, 3),
            "sentence_audio_s": round(clip.n_samples / clip.sample_rate_hz, 3),
            "real_time_factor": round(min(runs), 4)}


def bench_stages(width: int, height: int, frames: int = 150) -> dict[str, Any]:
    import numpy as np
    from vispy.gloo import gl

    from studio.avatar.renderer import AvatarRenderer
    from studio.compose.compositor import Compositor
    from studio.core.clock import MediaClock
    from studio.face.motion import FaceMotion
    from studio.outputs.mp4 import Mp4Writer
    from studio.show.model import HostLook, Stage
    from studio.voice.piper_tts import PiperTTS

    clock = MediaClock(Fraction(30))
    tts = PiperTTS("en_US-joe-medium")
    clip = tts.synthesize(SENTENCE)
    face = FaceMotion(clock, seed=1)
    face.add_speech([p.shifted(4800) for p in clip.phonemes], clip.audio, 4800)
    t = time.perf_counter()
    params = [face.params_at_frame(i) for i in range(frames)]
    face_ms = (time.perf_counter() - t) / frames * 1000

    comp = Compositor(width, height, Stage(), lambda: AvatarRenderer(HostLook()))
    avatar = comp._avatar
    assert avatar is not None
    # Host alone: draw into the framebuffer and wait for the GPU (llvmpipe) to finish.
    comp.compose(params[0])
    comp.read_yuv420p()
    comp.gl.begin()
    t = time.perf_counter()
    for p in params:
        avatar.draw(p, comp.layout.host_rect_px, (width, height))
    comp.gl.flush()
    gl.glFinish()
    host_ms = (time.perf_counter() - t) / frames * 1000
    comp.gl.end()

    t = time.perf_counter()
    for p in params:
        comp.compose(p)
        comp.gl.flush()
        gl.glFinish()
    compose_ms = (time.perf_counter() - t) / frames * 1000
    t = time.perf_counter()
    yuvs = []
    for p in params:
        comp.compose(p)
        yuvs.append(comp.read_yuv420p())
    compose_yuv_ms = (time.perf_counter() - t) / frames * 1000

    with tempfile.TemporaryDirectory() as tmp:
        writer = Mp4Writer(Path(tmp) / "b.mp4", width, height, Fraction(30))
        t = time.perf_counter()
        for i, yuv in enumerate(yuvs):
            assert yuv is not None
            writer.write_yuv420p(i, yuv)
        writer.close()
        encode_ms = (time.perf_counter() - t) / frames * 1000
    comp.close()
    del np
    return {"size": f"{width}x{height}", "face_motion_ms": round(face_ms, 3),
            "host_render_ms": round(host_ms, 2),
            "composition_ms": round(compose_ms, 2),
            "composition_and_yuv_readback_ms": round(compose_yuv_ms, 2),
            "h264_encode_ms": round(encode_ms, 2)}


def bench_render_in_subprocess(width: int, height: int, show: Path) -> dict[str, Any]:
    code = (
        "import json, resource, sys, time\n"
        "from pathlib import Path\n"
        "from fractions import Fraction\n"
        "from studio.engine.render import RenderSettings, render_show\n"
        "from studio.show.loader import load_show\n"
        f"show = load_show({str(show)!r})\n"
        "t = time.perf_counter()\n"
        f"r = render_show(show, Path(sys.argv[1]), RenderSettings({width}, {height}))\n"
        "wall = time.perf_counter() - t\n"
        # VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the forking parent.
        "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0]\n"
        "rss = int(hwm.split()[1]) / 1024\n"
        "print(json.dumps({'duration_s': round(r.duration_s, 2), 'wall_s': round(wall, 2),"
        " 'x_real_time': round(r.duration_s / wall, 2), 'peak_rss_mb': round(rss, 1),"
        " 'frames': r.frames}))\n"
    )
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run([sys.executable, "-c", code, str(Path(tmp) / "render.mp4")],
                             check=True, capture_output=True, text=True).stdout
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    result["size"] = f"{width}x{height}@30"
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="skip the 1080p whole render")
    args = parser.parse_args()
    import onnxruntime

    from studio.paths import demo_show_path

    results: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": {"cpu_count": os.cpu_count(), "platform": platform.platform(),
                    "processor": platform.processor() or platform.machine(),
                    "onnxruntime_providers": onnxruntime.get_available_providers()},
        "tts": bench_tts(),
        "stages": [bench_stages(1280, 720), bench_stages(1920, 1080)],
    }
    renders = [bench_render_in_subprocess(1280, 720, demo_show_path())]
    if not args.quick:
        renders.append(bench_render_in_subprocess(1920, 1080, demo_show_path()))
    results["render_demo_show"] = renders
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
