"""Memory of a render whose script is one endless paragraph without punctuation. Prints JSON.

    .venv/bin/python bench/bench_long_script.py [--words 5000] [--size 288x160] [--fps 10]

A 5,000-word paragraph with no sentence or clause punctuation once drove ``studio render``
to 24 GB and the kernel's OOM killer (the voice was handed the whole paragraph as one
sentence). Now a sentence is cut between words at 220 characters: this renders such a show
(Piper joe, a small picture: memory is about the script, not the pixels) in a subprocess and
reports its peak resident memory, with the same show at a fifth of the words for comparison:
bounded memory means the two are close, not five times apart.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PHRASE = "this jacket keeps you warm and dry on every trail"  # 10 words, no punctuation


def show_text(words: int) -> str:
    script = " ".join([PHRASE] * max(1, words // 10))
    return ('[show]\ntitle = "Long script"\n[host]\nname = "Ava"\nvoice = "en_US-joe-medium"\n'
            '[[products]]\nid = "p1"\nname = "Jacket"\nprice = 89\ncurrency = "USD"\n'
            f'script = """{script}"""\n')


def render(words: int, size: str, fps: str, folder: Path) -> dict[str, float | int]:
    show = folder / f"long_{words}.toml"
    show.write_text(show_text(words), encoding="utf-8")
    out = folder / f"long_{words}.mp4"
    started = time.perf_counter()
    # A fresh interpreter per render: ru_maxrss of the children is that render's peak.
    proc = subprocess.run([sys.executable, "-c", (
        "import resource, sys\n"
        "from studio.cli import main\n"
        "code = main(sys.argv[1:])\n"
        "print('PEAK_KB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
        "sys.exit(code)\n"), "render", str(show), "--out", str(out), "--size", size,
        "--fps", fps], capture_output=True, text=True, check=True)
    peak_kb = int(next(line.split()[1] for line in proc.stdout.splitlines()
                       if line.startswith("PEAK_KB")))
    timeline = json.loads(out.with_suffix(".timeline.json").read_text(encoding="utf-8"))
    sentences = [s for seg in timeline["segments"] for s in seg["sentences"]]
    return {"words": words, "peak_rss_mb": round(peak_kb / 1024, 1),
            "wall_s": round(time.perf_counter() - started, 1),
            "sentences": len(sentences),
            "longest_sentence_chars": max((len(s.get("text", "")) for s in sentences),
                                          default=0)}


def main() -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--words", type=int, default=5000)
    ap.add_argument("--size", default="288x160")
    ap.add_argument("--fps", default="10")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        small = render(args.words // 5, args.size, args.fps, Path(tmp))
        large = render(args.words, args.size, args.fps, Path(tmp))
    print(json.dumps({"date": time.strftime("%Y-%m-%d"), "cpu_count": os.cpu_count(),
                      "load_average": [round(x, 2) for x in os.getloadavg()],
                      "size": args.size, "fps": args.fps, "small": small, "large": large,
                      "peak_growth_ratio": round(large["peak_rss_mb"] / small["peak_rss_mb"], 2),
                      "self_peak_rss_mb": round(
                          resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)},
                     indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
