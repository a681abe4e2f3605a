"""Offline render: a show file becomes an MP4 plus its timeline JSON, faster than real time."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from studio.avatar.package import likeness_identifiers
from studio.core.clock import MediaClock
from studio.core.formats import check_output_file, check_settings
from studio.engine.asrun import timeline_events
from studio.engine.events import Event, RecordingStarted, RunEnded
from studio.engine.frames import FrameRenderer, FrameState
from studio.engine.preflight import avatar_show_problems, refuse, show_voice
from studio.face.motion import FaceMotion
from studio.outputs.mp4 import Mp4Writer, aigc_metadata
from studio.outputs.worker import OrderedWorker
from studio.program.core import Pacing
from studio.program.rundown import plan_show
from studio.program.scheduler import SpeechScheduler
from studio.show.model import Show
from studio.voice.types import TTSEngine

_LOG = logging.getLogger("studio.engine")



@dataclass(frozen=True, slots=True)
class RenderSettings:
    width_px: int = 1280
    height_px: int = 720
    fps: Fraction = Fraction(30)
    crf: int = 20
    preset: str = "veryfast"

    def validate(self) -> None:
        check_settings((self.width_px, self.height_px), self.fps)  # what every command checks


@dataclass(frozen=True, slots=True)
class RenderProgress:
    sentences_done: int
    sentences_total: int
    frames_done: int
    seconds_done: float
    seconds_estimated: float


@dataclass(frozen=True, slots=True)
class RenderResult:
    video_path: Path
    timeline_path: Path
    duration_s: float
    frames: int
    wall_s: float
    produce_id: str
    execution_provider: str


def timeline_path_for(video_path: Path) -> Path:
    return video_path.with_name(video_path.stem + ".timeline.json")


def show_seed(show: Show) -> int:
    return int.from_bytes(hashlib.sha256(show.show.title.encode()).digest()[:4], "little")


def render_show(show: Show, out_path: Path, settings: RenderSettings = RenderSettings(),
                progress: Callable[[RenderProgress], None] | None = None,
                tts: TTSEngine | None = None,
                on_frame: Callable[[FrameState], None] | None = None,
                on_event: Callable[[Event], None] | None = None) -> RenderResult:
    """Render the whole show. Writes to temporary names and renames at the end, so a failed
    or interrupted render leaves no partial MP4 or timeline behind. ``on_event`` (the as-run
    log) gets, once the file is there, the events a live run would have sent: the
    recording with its AIGC tags, each card and sentence from the timeline, the end."""
    settings.validate()
    check_output_file(out_path)
    out_path = out_path.resolve()
    started = time.perf_counter()
    clock = MediaClock(settings.fps)
    refuse(show, avatar_show_problems(show))  # as `studio check`, before the voice loads
    voice = tts or show_voice(show)  # the loading `studio check` does: same refusals
    face = FaceMotion(clock, seed=show_seed(show))
    lines = plan_show(show)
    names = {p.id: p.name for p in show.products}
    pacing = Pacing.for_show(show)
    scheduler = SpeechScheduler(
        voice, clock, lines, names, show.show.title, pacing,
        on_sentence=lambda ts, audio: face.add_speech(ts.phonemes, audio, ts.start_samples))
    chars_total = sum(len(line.text) for line in lines) or 1
    produce_id = str(uuid.uuid4())
    # A likeness refused (no consent on record, a changed package) stops here, with why.
    metadata = aigc_metadata(produce_id,
                             avatar=likeness_identifiers(show.host, show.base_dir))
    tmp_video = out_path.with_name(f".{out_path.name}.{os.getpid()}.part")
    timeline_path = timeline_path_for(out_path)
    tmp_timeline = timeline_path.with_name(f".{timeline_path.name}.{os.getpid()}.part")
    renderer = FrameRenderer(show, settings.width_px, settings.height_px, clock, face)
    writer: Mp4Writer | None = None
    encoder: OrderedWorker | None = None
    try:
        # Pre-render every card now: a bad product image fails before any encoding starts.
        for product in show.products:
            renderer.card_image(product.id)
        writer = Mp4Writer(tmp_video, settings.width_px, settings.height_px, settings.fps,
                           metadata=metadata, crf=settings.crf,
                           preset=settings.preset)
        encoder = OrderedWorker("mp4-encoder")
        index = 0
        total_frames: int | None = None
        chars_done = 0
        while total_frames is None or index < total_frames:
            start = clock.frame_start_sample(index)
            end = clock.frame_start_sample(index + 1)
            before = scheduler.sentences_done
            scheduler.ensure_until(end)
            chars_done += sum(len(line.text) for line in lines[before:scheduler.sentences_done])
            if total_frames is None and scheduler.finished:
                scheduler.finish()
                total_frames = scheduler.timeline.total_frames
            segment = scheduler.timeline.segment_at(start)
            # An avatar that hears the voice gets the program around the frame: what was
            # heard before it, the speech placed from it on.
            state = renderer.state_at(index, segment, ahead=scheduler.core.mixer.peek)
            renderer.draw(state)
            if on_frame is not None:
                on_frame(state)
            _write_frame(encoder, writer, renderer, index)
            audio = scheduler.audio_between(start, end)
            renderer.heard(audio)
            encoder.submit(writer.write_audio, audio)
            index += 1
            if progress is not None and index % 15 == 0:
                done_s = clock.samples_to_s(end)
                speech_s = clock.samples_to_s(scheduler.end_of_speech_samples)
                estimate = max(done_s, speech_s * chars_total / max(1, chars_done))
                progress(RenderProgress(scheduler.sentences_done, len(lines), index, done_s,
                                        estimate))
        encoder.submit(writer.pad_audio_to, clock.frame_start_sample(index))
        encoder.submit(writer.close)
        encoder.close()
        scheduler.timeline.write(tmp_timeline, produce_id)
        os.replace(tmp_video, out_path)
        os.replace(tmp_timeline, timeline_path)
    except BaseException:
        if encoder is not None:
            with contextlib.suppress(BaseException):
                encoder.close()
        if writer is not None:
            writer.abort()
        tmp_video.unlink(missing_ok=True)
        tmp_timeline.unlink(missing_ok=True)
        raise
    finally:
        renderer.close()
    total = scheduler.timeline.total_samples
    if on_event is not None:
        on_event(RecordingStarted(out_path.name, str(out_path), 0, tuple(metadata.items())))
        for event in timeline_events(scheduler.timeline, show):
            on_event(event)
        on_event(RunEnded(total, "the render finished"))
    if progress is not None:
        progress(RenderProgress(len(lines), len(lines), index, clock.samples_to_s(total),
                                clock.samples_to_s(total)))
    return RenderResult(out_path, timeline_path, clock.samples_to_s(total), index,
                        time.perf_counter() - started, produce_id,
                        getattr(voice, "execution_provider", "CPU"))


def _write_frame(encoder: OrderedWorker, writer: Mp4Writer, renderer: FrameRenderer,
                 index: int) -> None:
    yuv = renderer.compositor.read_yuv420p()  # a fresh buffer each call: safe to hand over
    if yuv is not None:
        encoder.submit(writer.write_yuv420p, index, yuv)
    else:
        encoder.submit(writer.write_video, index, renderer.compositor.read_rgba())

