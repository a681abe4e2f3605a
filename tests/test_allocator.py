"""A long run's malloc: few arenas, and freed memory given back to the system.

Each case runs in a fresh interpreter: arenas and their limit belong to the process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from studio.core.allocator import heap_figures

pytestmark = pytest.mark.skipif(not heap_figures(), reason="glibc's malloc only")

ROOT = Path(__file__).resolve().parents[1]

# Eight threads allocate at once (each new thread that mallocs gets an arena of its own, up
# to the limit); a large block is allocated after a larger one was freed; then one thread
# fills 200 MB in 4 KB blocks and frees all but one block in 64, so no heap can shrink from
# its top: that memory stays resident until it is released.
CHILD = textwrap.dedent("""
    import json, sys, threading, time
    from studio.core.allocator import heap_figures, tune_for_long_runs

    def rss_mb():
        with open("/proc/self/status") as status:
            return next(int(x.split()[1]) for x in status if x.startswith("VmRSS")) / 1024

    tuned = tune_for_long_runs(release_every_s=0.2) if sys.argv[1] == "tuned" else {}
    barrier = threading.Barrier(8)
    def churn():
        barrier.wait()
        for _ in range(200):
            blocks = [bytearray(4096) for _ in range(50)]
            del blocks
    threads = [threading.Thread(target=churn) for _ in range(8)]
    for t in threads: t.start()
    for t in threads: t.join()
    arenas = heap_figures()["arenas"]
    # glibc raises its mmap threshold to the size of a mapped block freed (here 20 MB);
    # then a 6 MB block (an MP4's index after 20 minutes) would be served from an arena
    big = bytearray(20 << 20)
    del big
    before = heap_figures()["mmapped_blocks"]
    block = bytearray(6 << 20)
    mapped_on_its_own = heap_figures()["mmapped_blocks"] > before
    del block
    kept = []
    def fill():
        blocks = [bytearray(4096) for _ in range(50_000)]
        kept.extend(blocks[::64])
    t = threading.Thread(target=fill); t.start(); t.join()
    freed = rss_mb()
    time.sleep(2.0)  # ten periods of the release, when tuned
    print(json.dumps({"tuned": tuned, "arenas": arenas, "mapped": mapped_on_its_own,
                      "rss_after_free_mb": freed,
                      "rss_later_mb": rss_mb()}))
""")


def run_child(mode: str) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}  # glibc's own
    done = subprocess.run([sys.executable, "-c", CHILD, mode], cwd=ROOT, capture_output=True,
                          text=True, timeout=60, check=True, env=env)
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_a_long_run_keeps_two_arenas_maps_large_blocks_and_gives_freed_memory_back() -> None:
    tuned = run_child("tuned")
    untuned = run_child("untuned")
    assert tuned["tuned"] == {"arenas": 2, "mmap_threshold_bytes": 4 << 20,
                              "release_every_s": 0.2}
    assert tuned["arenas"] <= 2
    assert untuned["arenas"] > 2  # glibc's default: an arena for each thread, up to 8 a core
    # a large block gets a mapping of its own, whatever was freed before it
    assert tuned["mapped"] and not untuned["mapped"]
    # 200 MB freed, resident in both right after; glibc keeps it, tuned it goes back
    assert untuned["rss_after_free_mb"] > 200, untuned
    assert untuned["rss_later_mb"] > untuned["rss_after_free_mb"] - 20, untuned
    assert tuned["rss_later_mb"] < untuned["rss_later_mb"] - 150, (tuned, untuned)
