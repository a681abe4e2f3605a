"""The as-run log's cost on the engine's thread and its size per show day. Prints one JSON.

    .venv/bin/python bench/bench_asrun.py [--records 5000]

Feeds sentence, card and output events (as a looping show sends them) into an ``AsRunLog``
in a temporary folder and reports: microseconds per event on the caller's thread (what the
frame loop pays), the writer's records per second, bytes per sentence record, and the size
of a day of a show that says a sentence every 3 s with a card every 30 s.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=5_000)  # under the queue bound
    args = ap.parse_args()

    from studio.engine.asrun import AsRunLog, read_records
    from studio.engine.events import ProductShown, SentenceStarted
    from studio.show.model import Product

    product = Product(id="mug", name="Blue Mug", price=39.9, currency="CNY",
                      selling_points=["Holds 350 ml", "Dishwasher safe"],
                      script="This blue mug holds tea.")
    text = "This blue mug holds three hundred and fifty millilitres of tea, only 39.9 today."
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        log = AsRunLog(folder)
        log.start_run(source="run", show=None, show_path=None)
        costs_us: list[float] = []
        started = time.perf_counter()
        for i in range(args.records):
            event = (ProductShown(product, i * 48_000) if i % 10 == 0 else
                     SentenceStarted("mug", "script", i % 10, text, i * 144_000,
                                     i * 144_000 + 120_000, ()))
            t0 = time.perf_counter()
            log.on_event(event)
            costs_us.append((time.perf_counter() - t0) * 1e6)
        log.close(timeout_s=120)
        wall_s = time.perf_counter() - started
        records = read_records(folder)
        size = sum(p.stat().st_size for p in folder.iterdir())
        sentence_bytes = statistics.mean(
            len(json.dumps(r, ensure_ascii=False, separators=(",", ":"))) + 1
            for r in records if r["type"] == "sentence")
        card_bytes = statistics.mean(
            len(json.dumps(r, ensure_ascii=False, separators=(",", ":"))) + 1
            for r in records if r["type"] == "product_shown")
    costs_us.sort()
    day_bytes = 86_400 / 3 * sentence_bytes + 86_400 / 30 * card_bytes
    print(json.dumps({
        "records": len(records),
        "dropped": log.records_dropped,
        "caller_us_median": round(statistics.median(costs_us), 2),
        "caller_us_mean": round(statistics.mean(costs_us), 2),
        "caller_us_p99": round(costs_us[int(len(costs_us) * 0.99)], 2),
        "caller_us_max": round(costs_us[-1], 2),
        "records_per_s": round(len(records) / wall_s),
        "bytes_per_sentence": round(sentence_bytes),
        "bytes_per_card": round(card_bytes),
        "folder_bytes": size,
        "day_mb_at_a_sentence_every_3_s": round(day_bytes / 1e6, 2),
    }))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
