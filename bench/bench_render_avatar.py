"""A full render of the demo show with a photo avatar as its host, as a multiple of real time.

    .venv/bin/python bench/bench_render_avatar.py [--size 1280x720] [--fps 30] [--default-too]

Builds a photo avatar package from skimage's astronaut (public domain) with
``studio avatar create`` (a consent statement on record), copies the bundled demo show
(``assets/shows/demo``) and points its ``[host] avatar`` at the package, then runs
``studio render`` on it in a child process and times it. Prints one JSON object: the show's
length (the timeline's), the wall time, real time ÷ wall time (``x_real_time``: 2.0 renders
twice as fast as the show plays), the child's peak memory and CPU time. ``--default-too``
renders the same copy with the stylised host too, on the same machine at the same time, for
comparison. Takes a few minutes on a 2-core machine (the voice is synthesised as well).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _studio(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.setdefault("EGL_PLATFORM", "surfaceless")
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run([sys.executable, "-m", "studio", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, check=False)


def _package(folder: Path) -> tuple[Path, float]:
    from PIL import Image
    from skimage import data

    portrait = folder / "astronaut.png"
    Image.fromarray(data.astronaut()).save(portrait)  # type: ignore[no-untyped-call]
    package = folder / "astronaut"
    t = time.perf_counter()
    done = _studio("avatar", "create", str(portrait), "--owner", "Eileen Collins",
                   "--statement", "I agree that LiveHost Studio may use my likeness for "
                   "this benchmark.", "--out", str(package), "--created-by", "bench")
    if done.returncode != 0:
        raise SystemExit(f"studio avatar create failed:\n{done.stdout}{done.stderr}")
    return package, time.perf_counter() - t


def _demo_copy(folder: Path, avatar: str) -> Path:
    shows = folder / f"demo-{avatar.replace('/', '_')}"
    shutil.copytree(ROOT / "assets" / "shows" / "demo", shows)
    show = shows / "demo.toml"
    text = show.read_text(encoding="utf-8")
    text, n = re.subn(r'(?m)^avatar = "default"', f"avatar = {json.dumps(avatar)}", text)
    if n != 1:
        raise SystemExit(f"{show}: no `avatar = \"default\"` line to point at the avatar")
    show.write_text(text, encoding="utf-8")
    return show


def _render(show: Path, size: str, fps: str) -> dict[str, Any]:
    out = show.with_suffix(".mp4")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    done = _studio("render", str(show), "--out", str(out), "--size", size, "--fps", fps)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"studio render failed:\n{done.stdout}{done.stderr}")
    timeline = json.loads(out.with_name(out.stem + ".timeline.json").read_text("utf-8"))
    duration = float(timeline["duration_s"])
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"show_s": round(duration, 2), "frames": timeline["total_frames"],
            "wall_s": round(wall, 1), "x_real_time": round(duration / wall, 2),
            "wall_per_show_s": round(wall / duration, 3),
            "ms_per_frame": round(wall / timeline["total_frames"] * 1000, 1),
            "cpu_s": round(cpu, 1), "peak_rss_mb_children": round(after.ru_maxrss / 1024)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="1280x720")
    ap.add_argument("--fps", default="30")
    ap.add_argument("--default-too", action="store_true",
                    help="render the stylised host too, for comparison")
    args = ap.parse_args()
    result: dict[str, Any] = {"size": args.size, "fps": args.fps, "cpus": os.cpu_count(),
                              "load_before": [round(v, 2) for v in os.getloadavg()]}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        package, build_s = _package(folder)
        result["avatar_create_s"] = round(build_s, 1)
        result["photo_avatar"] = _render(_demo_copy(folder, str(package)), args.size, args.fps)
        if args.default_too:
            result["default_host"] = _render(_demo_copy(folder, "default"), args.size,
                                             args.fps)
    result["load_after"] = [round(v, 2) for v in os.getloadavg()]
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
