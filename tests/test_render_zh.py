"""A Mandarin show rendered end to end with the real Kokoro voice: Mandarin phonemes (tones
inside syllables), Chinese words on the timeline in order, the sales Chinese read as a host
says it, and broadcast loudness measured by ffmpeg."""

from __future__ import annotations

import itertools
import json
import re
import subprocess
from collections.abc import Callable
from pathlib import Path

from studio.engine.render import RenderSettings, render_show
from studio.show.loader import load_show

SHOW_ZH = """
[show]
title = "测试直播"
language = "zh"

[host]
name = "小雅"
voice = "kokoro:jf_alpha"

[[products]]
id = "cup"
name = "陶瓷杯"
price = 39.9
currency = "CNY"
script = "这款杯子今天只要¥39.9，立省30%！"
"""

TONES = set("→↗↓↘")


def test_a_mandarin_show_renders_with_mandarin_phonemes_words_and_loudness(
        write_show: Callable[[str], Path], tmp_path: Path) -> None:
    out = tmp_path / "zh.mp4"
    render_show(load_show(write_show(SHOW_ZH)), out, RenderSettings(320, 180))
    timeline = json.loads(out.with_suffix(".timeline.json").read_text(encoding="utf-8"))
    sentences = [s for seg in timeline["segments"] for s in seg["sentences"]]
    said = next(s for s in sentences if "杯子" in s["text"])
    # Read as a host says it: the price and the percentage in words.
    assert "三十九块九" in said["spoken_text"] and "百分之三十" in said["spoken_text"]
    assert not re.search(r"[0-9¥%]", said["spoken_text"])
    # Mandarin phonemes, with tones, spanning the sentence in order.
    symbols = [p["p"] for p in said["phonemes"]]
    assert TONES & set(symbols), symbols
    starts = [p["start_s"] for p in said["phonemes"]]
    assert starts == sorted(starts)
    # Chinese words (jieba), increasing and never overlapping, inside the sentence.
    words = said["words"]
    assert [w["text"] for w in words][:3] == ["这", "款", "杯子"] or \
        "".join(w["text"] for w in words).startswith("这款杯子")
    assert all(w["end_s"] > w["start_s"] for w in words)
    assert all(a["end_s"] <= b["start_s"] for a, b in itertools.pairwise(words))
    assert said["start_s"] <= words[0]["start_s"] and words[-1]["end_s"] <= said["end_s"]
    # Broadcast loudness by an independent meter.
    report = subprocess.run(["ffmpeg", "-nostats", "-i", str(out), "-af",
                             "ebur128=peak=true", "-f", "null", "-"],
                            capture_output=True, text=True, check=True).stderr
    summary = report[report.rindex("Summary:"):]
    integrated = float(re.search(r"I:\s+(-?[\d.]+) LUFS", summary).group(1))  # type: ignore[union-attr]
    peak = float(re.search(r"Peak:\s+(-?[\d.]+) dBFS", summary).group(1))  # type: ignore[union-attr]
    assert abs(integrated + 16.0) <= 1.0, integrated
    assert peak <= -1.0, peak
