"""End to end: a two-product show through the real voice, renderer and encoder into an MP4.

Everything is asserted on what a viewer gets: the streams and their durations, the label in
every frame, the metadata in the file, and a mouth that moves with the sound.
"""

from __future__ import annotations

import itertools
import json
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt
import pytest

from studio.compose.compositor import StageLayout
from studio.compose.label import label_text_box_px
from studio.engine.frames import FrameState
from studio.engine.render import RenderSettings, render_show
from studio.show.loader import load_show

WIDTH, HEIGHT, FPS = 640, 360, 30

TWO_PRODUCTS = """
[show]
title = "Two Product Test"
language = "en"

[host]
voice = "en_US-joe-medium"

[host.look]
hair_style = "long"
skin_tone = "medium"

[[products]]
id = "mug"
name = "Coffee Mug"
price = 39.9
original_price = 59
currency = "CNY"
image = "mug.png"
selling_points = ["Holds 250 ml"]
script = \"\"\"
This mug is only ¥39.9 today. Mama made pumpkin pie!

Buy two and save 10%.
\"\"\"

[[products]]
id = "earbuds"
name = "无线降噪耳机 Pro"
price = 299
currency = "CNY"
script = "Wow, what a pop! Papa bought a big bass boom box."
"""


@dataclass
class Rendered:
    video: Path
    timeline: dict  # type: ignore[type-arg]
    states: list[FrameState]
    produce_id: str


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Rendered:
    from PIL import Image
    from skimage import data

    folder = tmp_path_factory.mktemp("render")
    Image.fromarray(data.astronaut()).save(folder / "mug.png")
    show_path = folder / "show.toml"
    show_path.write_text(TWO_PRODUCTS, encoding="utf-8")
    states: list[FrameState] = []
    result = render_show(load_show(show_path), folder / "show.mp4",
                         RenderSettings(WIDTH, HEIGHT), on_frame=states.append)
    timeline = json.loads(result.timeline_path.read_text(encoding="utf-8"))
    return Rendered(result.video_path, timeline, states, result.produce_id)


def ffprobe(path: Path) -> dict:  # type: ignore[type-arg]
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-print_format", "json", "-show_format", "-show_streams",
         str(path)], check=True, capture_output=True, text=True).stdout
    return json.loads(out)  # type: ignore[no-any-return]


def decode_audio(path: Path) -> npt.NDArray[np.float32]:
    with av.open(str(path)) as container:
        chunks = [frame.to_ndarray()[0] for frame in container.decode(audio=0)]
    return np.concatenate(chunks).astype(np.float32)


def decode_video(path: Path) -> list[npt.NDArray[np.uint8]]:
    with av.open(str(path)) as container:
        return [np.asarray(frame.to_ndarray(format="rgb24"), dtype=np.uint8)
                for frame in container.decode(video=0)]


def test_streams_and_durations(rendered: Rendered) -> None:
    info = ffprobe(rendered.video)
    streams = {s["codec_type"]: s for s in info["streams"]}
    video, audio = streams["video"], streams["audio"]
    assert video["codec_name"] == "h264" and audio["codec_name"] == "aac"
    assert (video["width"], video["height"]) == (WIDTH, HEIGHT)
    assert video["avg_frame_rate"] == "30/1"
    assert video["pix_fmt"] == "yuv420p"
    assert int(audio["sample_rate"]) == 48_000
    video_s, audio_s = float(video["duration"]), float(audio["duration"])
    assert abs(video_s - audio_s) <= 1 / FPS
    assert int(video["nb_frames"]) == len(rendered.states) == rendered.timeline["total_frames"]
    assert abs(video_s - rendered.timeline["duration_s"]) <= 1 / FPS
    # Two products with ~15 words of script: tens of seconds, not milliseconds or minutes.
    assert 5 < video_s < 40


def test_aigc_metadata_in_the_file(rendered: Rendered) -> None:
    tags = ffprobe(rendered.video)["format"]["tags"]
    aigc = json.loads(tags["AIGC"])
    assert aigc["Label"] == "1"
    assert aigc["ContentProducer"].startswith("LiveHost Studio")
    assert aigc["ProduceID"] == rendered.produce_id == rendered.timeline["produce_id"]


def test_timeline_lists_products_sentences_and_phonemes(rendered: Rendered) -> None:
    segments = rendered.timeline["segments"]
    assert [s["product_id"] for s in segments] == ["mug", "earbuds"]
    sentences = [s for seg in segments for s in seg["sentences"]]
    assert [s["text"] for s in sentences] == [
        "This mug is only ¥39.9 today.", "Mama made pumpkin pie!", "Buy two and save 10%.",
        "Wow, what a pop!", "Papa bought a big bass boom box."]
    assert "thirty-nine point nine yuan" in sentences[0]["spoken_text"]
    assert "ten percent" in sentences[2]["spoken_text"]
    for before, after in itertools.pairwise(sentences):
        assert before["end_s"] <= after["start_s"]
    for sentence in sentences:
        phonemes = sentence["phonemes"]
        assert phonemes[0]["start_s"] == pytest.approx(sentence["start_s"], abs=1e-6)
        assert phonemes[-1]["end_s"] == pytest.approx(sentence["end_s"], abs=1e-6)
        for a, b in itertools.pairwise(phonemes):
            assert a["end_s"] == pytest.approx(b["start_s"], abs=1e-6)
        assert sentence["words"], "every sentence has word timings for the teleprompter"


def _frame_rms(audio: npt.NDArray[np.float32], n_frames: int) -> npt.NDArray[np.float64]:
    per = 48_000 // FPS
    audio = np.pad(audio, (0, max(0, n_frames * per - len(audio))))
    return np.sqrt((audio[:n_frames * per].reshape(n_frames, per) ** 2).mean(axis=1))


def _lag_frames(a: npt.NDArray[np.float64], b: npt.NDArray[np.float64]) -> int:
    a = (a - a.mean()) / (a.std() + 1e-9)
    b = (b - b.mean()) / (b.std() + 1e-9)
    lags = range(-5, 6)
    scores = [float(np.dot(a[max(0, k):len(a) + min(0, k)], b[max(0, -k):len(b) - max(0, k)]))
              for k in lags]
    return list(lags)[int(np.argmax(scores))]


def test_jaw_follows_the_audio_and_closes_in_silence(rendered: Rendered) -> None:
    jaw = np.array([s.face.jaw_open for s in rendered.states])
    rms = _frame_rms(decode_audio(rendered.video), len(jaw))
    assert abs(_lag_frames(rms, jaw)) <= 1
    assert np.corrcoef(rms, jaw)[0, 1] > 0.5
    silent = rms < 0.003
    # Frames inside a silence of at least 200 ms (6 frames) on both sides.
    run = np.convolve(silent.astype(int), np.ones(7, int), mode="same") == 7
    assert run.sum() > 10
    assert jaw[run].max() < 0.05


def _mouth_darkness(frames: list[npt.NDArray[np.uint8]]) -> npt.NDArray[np.float64]:
    from studio.avatar import rig

    layout = StageLayout.for_frame(WIDTH, HEIGHT)
    x, y, w, h = rig.mouth_rect_px(layout.host_rect_px)
    crops = np.stack([f[y:y + h, x:x + w].astype(np.float64) for f in frames])
    luminance = crops.mean(axis=3)
    return (luminance < 60).mean(axis=(1, 2))


def test_rendered_mouth_opens_with_speech(rendered: Rendered) -> None:
    frames = decode_video(rendered.video)
    darkness = _mouth_darkness(frames)
    jaw = np.array([s.face.jaw_open for s in rendered.states])
    rms = _frame_rms(decode_audio(rendered.video), len(frames))
    assert abs(_lag_frames(rms, darkness)) <= 1
    assert np.corrcoef(jaw, darkness)[0, 1] > 0.7
    closed = jaw < 0.03
    wide = jaw > 0.5
    assert wide.sum() > 5 and closed.sum() > 5
    assert darkness[wide].mean() > 4 * darkness[closed].mean() + 0.01


def test_label_in_every_frame(rendered: Rendered) -> None:
    frames = decode_video(rendered.video)
    assert len(frames) == len(rendered.states)
    x, y, w, h = label_text_box_px(WIDTH, HEIGHT)
    assert h >= 0.05 * min(WIDTH, HEIGHT)
    for index, frame in enumerate(frames):
        box = frame[y:y + h, x:x + w].astype(int)
        bright = (box.min(axis=2) > 200).mean()
        dark = (box.max(axis=2) < 90).mean()
        assert bright > 0.08 and dark > 0.2, f"label missing or unreadable in frame {index}"


def test_product_card_follows_the_timeline(rendered: Rendered) -> None:
    frames = decode_video(rendered.video)
    layout = StageLayout.for_frame(WIDTH, HEIGHT)
    cx, cy, cw, ch = layout.card_rect_px
    segments = rendered.timeline["segments"]
    mid_first = int((segments[0]["start_s"] + segments[0]["end_s"]) / 2 * FPS)
    mid_second = int((segments[1]["start_s"] + segments[1]["end_s"]) / 2 * FPS)
    first = frames[mid_first][cy:cy + ch, cx:cx + cw].astype(int)
    second = frames[mid_second][cy:cy + ch, cx:cx + cw].astype(int)
    # The first card shows the astronaut photo; the second has no image: they must differ.
    assert np.abs(first - second).mean() > 10
    assert rendered.states[mid_first].product_id == "mug"
    assert rendered.states[mid_second].product_id == "earbuds"
    # A white panel is on screen mid-product.
    assert (first.min(axis=2) > 235).mean() > 0.2


def test_bad_image_fails_cleanly(write_show: Callable[[str], Path], tmp_path: Path) -> None:
    from studio.cli import main

    (tmp_path / "broken.png").write_bytes(b"not a png at all")
    show = write_show(TWO_PRODUCTS.replace("mug.png", "broken.png"))
    out = tmp_path / "x.mp4"
    assert main(["render", str(show), "--out", str(out), "--size", "320x180"]) == 2
    assert not out.exists()
    assert not any(p.name.endswith(".part") for p in tmp_path.iterdir())


def test_size_and_fps_flags(write_show: Callable[[str], Path], tmp_path: Path) -> None:
    from studio.cli import main

    show = write_show(TWO_PRODUCTS.split("[[products]]")[0] + "[[products]]"
                      + TWO_PRODUCTS.split("[[products]]")[2])
    out = tmp_path / "small.mp4"
    assert main(["render", str(show), "--out", str(out), "--size", "480x270",
                 "--fps", "25"]) == 0
    video = next(s for s in ffprobe(out)["streams"] if s["codec_type"] == "video")
    assert (video["width"], video["height"], video["avg_frame_rate"]) == (480, 270, "25/1")
