"""Takeover for real: AI → human → puppet → AI on the program, measured on the frames and the
sound that go out.

The camera is a video file of a real face (tests/facemedia.py: the astronaut photo, rolled and
with its mouth opened on a known schedule) and the microphone a speech file from the shipped
voice: the file sources stand in for the devices exactly as they do in a rehearsal. Unpaced
runs (``realtime=False``) make every frame and sample exact.
"""

from __future__ import annotations

import io
import itertools
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from studio.compose.compositor import StageLayout
from studio.compose.standby import render_standby
from studio.engine import commands as cmd
from studio.engine.events import (
    AudioMeter,
    FrameDelivered,
    InputsChanged,
    ModeChanged,
    Problem,
    SentenceStarted,
)
from studio.engine.live import LiveEngine
from studio.face.params import FaceParams
from studio.inputs.base import InputState, parse_camera, parse_mic
from studio.outputs.base import parse_target
from studio.program.switcher import Mode
from studio.show.loader import load_show
from tests import facemedia
from tests.test_live_engine import SHOW, Recorder

W, H = 640, 360
FPS = 30
RATE = 48_000
SPF = RATE // FPS  # samples per frame
SPEECH = ("Hello everyone, welcome back to the stream. Today I am showing you our brand new "
          "coffee mug, and the price is really good.")


@dataclass(frozen=True)
class Media:
    face_video: Path
    no_face_video: Path
    speech_wav: Path
    speech: npt.NDArray[np.float32]
    truth: facemedia.FaceTruth


@pytest.fixture(scope="session")
def media(tmp_path_factory: pytest.TempPathFactory, piper_voice: object) -> Media:
    folder = tmp_path_factory.mktemp("takeover-media")
    wav = folder / "speech.wav"
    speech, rate = facemedia.write_speech_wav(wav, SPEECH, tts=piper_voice)  # type: ignore[arg-type]
    assert rate == RATE
    envelope = facemedia.mouth_open_from_speech(speech, rate, FPS)
    duration_s = len(speech) / rate

    def mouth(t: float) -> float:
        return float(envelope[min(int(t * FPS), len(envelope) - 1)])

    truth = facemedia.write_face_video(
        folder / "face.mp4", duration_s=duration_s, fps=FPS,
        roll_deg=lambda t: 12.0 * math.sin(2 * math.pi * 0.35 * t), mouth_open=mouth,
        size_px=(W, H))
    facemedia.write_no_face_video(folder / "empty.mp4", duration_s=duration_s, fps=FPS,
                                  size_px=(W, H))
    return Media(folder / "face.mp4", folder / "empty.mp4", wav, speech, truth)


@pytest.fixture
def make_engine(write_show: Callable[[str], Path], piper_voice: object
                ) -> Iterator[Callable[..., tuple[LiveEngine, Recorder]]]:
    made: list[LiveEngine] = []

    def make(**kwargs: object) -> tuple[LiveEngine, Recorder]:
        eng = LiveEngine(load_show(write_show(SHOW)), width_px=W, height_px=H,
                         fps=Fraction(FPS), realtime=False, tts=piper_voice,  # type: ignore[arg-type]
                         **kwargs)  # type: ignore[arg-type]
        rec = Recorder()
        eng.subscribe(rec)
        made.append(eng)
        return eng, rec

    yield make
    for eng in made:
        eng.close()


def label_box(frame: npt.NDArray[np.uint8]) -> npt.NDArray[np.float64]:
    """The top-left corner where the AI label sits."""
    return frame[: H // 9, : W // 3, :3].astype(np.float64)


def camera_picture(media: Media, frame_index: int) -> npt.NDArray[np.float64]:
    """What the camera file shows at this program frame (the same size: no fitting)."""
    t = frame_index / FPS
    i = min(frame_index, len(media.truth.t_s) - 1)
    return facemedia.face_frame(t, roll_deg=float(media.truth.roll_deg[i]),
                                mouth_open=float(media.truth.mouth_open[i]),
                                size_px=(W, H)).astype(np.float64)


def test_switches_by_cue_reach_the_very_next_frame_with_the_label_exactly_when_synthetic(
        make_engine: Callable[..., tuple[LiveEngine, Recorder]], media: Media) -> None:
    eng, rec = make_engine(camera=parse_camera(str(media.face_video)),
                           mic=parse_mic(str(media.speech_wav)), crossfade_s=0.0)
    at = {Mode.HUMAN: 30, Mode.PUPPET: 60, Mode.AI: 90}  # frame indices
    for mode, frame in at.items():
        eng.send_at(frame * SPF, cmd.SetMode(mode))
    eng.run_frames(105)
    frames = rec.frames()
    assert [f.index for f in frames] == list(range(105))
    modes = [f.mode for f in frames]
    assert modes == ["ai"] * 30 + ["human"] * 30 + ["puppet"] * 30 + ["ai"] * 15
    switches = rec.of(ModeChanged)
    assert [(s.previous, s.mode, s.at_samples) for s in switches] == [
        ("ai", "human", 30 * SPF), ("human", "puppet", 60 * SPF), ("puppet", "ai", 90 * SPF)]

    # The human frames are the camera's picture, from the first one on; AI and puppet frames
    # are the avatar on the show's stage.
    for i in (30, 31, 45, 59):
        err = np.abs(frames[i].rgba[:, :, :3].astype(np.float64) - camera_picture(media, i))
        assert np.median(err) < 6, f"frame {i} is not the camera picture"
    for i in (29, 60, 61, 90):
        err = np.abs(frames[i].rgba[:, :, :3].astype(np.float64) - camera_picture(media, i))
        assert np.median(err) > 20, f"frame {i} shows the camera"
    # The label: drawn when the avatar shows or the AI's voice is heard, and only then (the
    # switch frame itself may carry the 20 ms fade of the AI's voice: the next test).
    for f in frames:
        assert f.label == (f.mode != "human") or f.index == 30, f.index
    ai_label = label_box(frames[29].rgba)
    for i in (30, 45, 59):
        assert np.abs(label_box(frames[i].rgba) - ai_label).mean() > 15, "label on a human frame"
    for i in (60, 75, 90, 104):
        assert np.abs(label_box(frames[i].rgba) - ai_label).mean() < 12, "label missing"


def test_a_switch_mid_sentence_fades_the_voice_and_labels_only_that_frame(
        make_engine: Callable[..., tuple[LiveEngine, Recorder]], media: Media,
        tmp_path: Path) -> None:
    import av

    out = tmp_path / "program.mkv"
    eng, rec = make_engine(camera=parse_camera(str(media.no_face_video)),
                           mic=parse_mic(str(media.speech_wav)), crossfade_s=0.0,
                           outputs=[parse_target(str(out))])
    # Run until the host is a third of the way into a sentence of a second or more (the voice
    # has some randomness: its lengths vary from run to run), then take over.
    for _ in range(900):
        eng.run_frames(1)
        long = [s for s in rec.of(SentenceStarted) if s.end_samples - s.start_samples > RATE]
        if long and rec.frames()[-1].pts_samples > \
                long[0].start_samples + (long[0].end_samples - long[0].start_samples) // 3:
            break
    switch_index = rec.frames()[-1].index + 1
    gain_at_switch_db = eng._mic_leveller.gain_db
    eng.send(cmd.SetMode(Mode.HUMAN))
    eng.run_frames(45)
    gain_after_db = eng._mic_leveller.gain_db
    eng.close()
    frames = rec.frames()
    by_index = {f.index: f for f in frames}
    # The AI's voice tail (a 20 ms fade) is in the switch frame: that frame keeps the label,
    # the next ones do not.
    assert by_index[switch_index].mode == "human" and by_index[switch_index].label
    assert not any(by_index[i].label for i in range(switch_index + 1, switch_index + 20))

    with av.open(str(out)) as container:
        audio = np.concatenate([f.to_ndarray()[0] for f in container.decode(audio=0)])
    s = switch_index * SPF
    # After the switch the program is the microphone (the speech file at show time), not the
    # AI: 50 ms on, it is the file's sound (through the recording's AAC).
    mic = media.speech
    assert s + RATE < len(mic), "the speech file is too short for this test"
    seg = slice(s + RATE // 20, s + RATE)
    assert np.corrcoef(audio[seg], mic[seg])[0, 1] > 0.97
    # ... at the level the microphone's leveller gives it (it moves slowly, at most 6 dB/s).
    ratio = float(np.std(audio[seg]) / np.std(mic[seg]))
    low, high = sorted(10.0 ** (g / 20.0) for g in (gain_at_switch_db, gain_after_db))
    assert 0.9 * low < ratio < 1.1 * high, (ratio, gain_at_switch_db, gain_after_db)
    # No click: around the switch no sample jumps more than the speech itself does.
    around = audio[s - SPF: s + 2 * SPF]
    speech_steps = np.abs(np.diff(mic[s - RATE: s + RATE])).max()
    assert np.abs(np.diff(around)).max() <= max(0.05, 1.2 * float(speech_steps))


def test_crossfade_moves_every_frame_and_lands_after_200_ms(
        make_engine: Callable[..., tuple[LiveEngine, Recorder]], media: Media) -> None:
    eng, rec = make_engine(camera=parse_camera(str(media.no_face_video)))  # 0.2 s default
    eng.send_at(15 * SPF, cmd.SetMode(Mode.HUMAN))
    eng.send_at(45 * SPF, cmd.SetMode(Mode.AI))
    eng.run_frames(60)
    frames = [f.rgba[:, :, :3].astype(np.float64) for f in rec.frames()]
    empty = facemedia.background_frame((W, H)).astype(np.float64)

    def camera_share(i: int) -> float:
        """How far frame i has gone from the AI picture (frame 14) to the camera's."""
        a, b = frames[14], empty
        d = (b - a).reshape(-1)
        return float(np.dot(frames[i].reshape(-1) - a.reshape(-1), d) / np.dot(d, d))

    shares = [camera_share(i) for i in range(15, 23)]
    assert 0.0 < shares[0] < 0.3  # the first frame after the switch has visibly moved
    assert all(b > a for a, b in itertools.pairwise(shares[:6]))
    # Weights are taken at each frame's end: the sixth frame (ending 200 ms after the switch)
    # is all camera.
    assert min(shares[5:]) > 0.97
    back = [float(np.abs(frames[i] - frames[44]).mean()) for i in range(45, 52)]
    assert back[0] > 1.0 and all(b > a for a, b in itertools.pairwise(back[:5]))
    assert [f.label for f in rec.frames()[15:22]] == [True] * 5 + [False] * 2
    assert all(f.label for f in rec.frames()[45:])


def _track(frames: list[FrameDelivered]) -> tuple[npt.NDArray[np.float64], ...]:
    """The avatar's head roll (degrees, clockwise on screen) and mouth opening (inner-lip gap
    over face height) in each output frame, found by mediapipe as a viewer's eye would."""
    from studio.face.tracking import keep_qt_environment

    with keep_qt_environment():
        import mediapipe as mp

    host = StageLayout.for_frame(W, H).host_rect_px
    x, y, w, h = host
    roll, mouth = [], []
    with mp.solutions.face_mesh.FaceMesh(static_image_mode=False, max_num_faces=1,
                                         refine_landmarks=False) as mesh:
        for f in frames:
            crop = np.ascontiguousarray(f.rgba[y:y + h, x:x + w, :3])
            found = mesh.process(crop).multi_face_landmarks
            if not found:
                roll.append(np.nan)
                mouth.append(np.nan)
                continue
            lm = found[0].landmark
            p = np.array([(q.x * w, q.y * h) for q in lm])
            right_eye, left_eye = p[33], p[263]  # the image's left and right eye corners
            roll.append(math.degrees(math.atan2(left_eye[1] - right_eye[1],
                                                left_eye[0] - right_eye[0])))
            mouth.append(float(np.linalg.norm(p[14] - p[13]) / np.linalg.norm(p[152] - p[10])))
    return np.array(roll), np.array(mouth)


def _corr(a: npt.NDArray[np.float64], b: npt.NDArray[np.float64]) -> float:
    ok = ~(np.isnan(a) | np.isnan(b))
    return float(np.corrcoef(a[ok], b[ok])[0, 1])


def test_puppet_head_follows_the_face_and_lips_follow_the_speech(
        make_engine: Callable[..., tuple[LiveEngine, Recorder]], media: Media) -> None:
    eng, rec = make_engine(camera=parse_camera(str(media.face_video)),
                           mic=parse_mic(str(media.speech_wav)), mode=Mode.PUPPET)
    n = len(media.truth.t_s)
    eng.run_frames(n)
    frames = rec.frames()
    assert all(f.mode == "puppet" and f.label for f in frames)
    roll, mouth = _track(frames)
    found = np.isfinite(roll)
    assert found.mean() > 0.95, "mediapipe lost the avatar's face"
    skip = 20  # the tracker calibrates on its first frames
    truth_roll = media.truth.roll_deg[:n]
    neutral = float(np.nanmedian(roll[:skip]))
    roll_r = _corr(roll[skip:] - neutral, truth_roll[skip:])
    # Same amplitude, within what smoothing and the avatar's rig allow.
    gain = np.nanstd(roll[skip:]) / np.std(truth_roll[skip:])
    mouth_r = _corr(mouth[skip:], media.truth.mouth_open[skip:n])
    print(f"avatar on the output vs the face: roll r={roll_r:.3f} gain={gain:.2f}, "
          f"mouth r={mouth_r:.3f}, face found in {found.mean():.0%} of frames")
    assert roll_r > 0.9
    assert 0.5 < gain < 1.5, gain
    assert mouth_r > 0.7
    inputs = rec.of(InputsChanged)
    assert inputs and inputs[-1].face_found


def test_face_lost_the_lips_follow_the_voice_and_the_operator_is_told(
        make_engine: Callable[..., tuple[LiveEngine, Recorder]], media: Media) -> None:
    eng, rec = make_engine(camera=parse_camera(str(media.no_face_video)),
                           mic=parse_mic(str(media.speech_wav)), mode=Mode.PUPPET)
    n = len(media.truth.t_s)
    eng.run_frames(n)
    frames = rec.frames()
    _, mouth = _track(frames)
    envelope = facemedia.mouth_open_from_speech(media.speech, RATE, FPS)[:n]
    # The model hears before it moves the mouth (at most 60 ms: two frames).
    lags = [_corr(mouth[k:], envelope[:n - k]) for k in range(3)]
    best = int(np.argmax(lags))
    heard, said = mouth[best:], envelope[:n - best]
    loud = float(np.nanmean(heard[said > 0.5]))
    quiet = float(np.nanmean(heard[said < 0.05]))
    print(f"lips vs voice: r by lag {[round(r, 3) for r in lags]}, mouth opening "
          f"{loud:.3f} while loud vs {quiet:.3f} in the pauses")
    assert lags[best] > 0.5
    assert loud > 2.0 * quiet  # open while speaking, shut in the pauses
    told = [p for p in rec.of(Problem) if "no face in view" in p.message]
    assert told and told[0].severity == "warning"
    assert rec.of(InputsChanged)[-1].face_found is False


def test_no_camera_or_a_camera_that_disconnects_shows_the_standby_never_black(
        make_engine: Callable[..., tuple[LiveEngine, Recorder]]) -> None:
    # A camera device that delivers one second of pictures and is then gone (the lavfi
    # virtual device ends: the capture reads end-of-stream as an unplugged camera).
    camera = parse_camera("lavfi:testsrc2=size=320x240:rate=30:duration=1", retry_s=3)
    eng, rec = make_engine(camera=camera, mode=Mode.HUMAN, crossfade_s=0.0)
    # The device runs on the wall clock: go frame by frame, at about real time.
    lost_at = None
    for _ in range(300):
        eng.run_frames(1)
        time.sleep(1 / FPS)
        states = [h.state for e in rec.of(InputsChanged) for h in e.inputs]
        if lost_at is None and (InputState.LOST in states or InputState.DOWN in states):
            lost_at = len(rec.frames())
        if lost_at is not None and len(rec.frames()) > lost_at + 30:
            break
    assert lost_at is not None, "the camera's end was not noticed"
    frames = rec.frames()
    assert all(f.mode == "human" and not f.label for f in frames)
    for f in frames:
        assert f.rgba[:, :, :3].mean() > 20, f"frame {f.index} is black"
    # While the camera is live the program shows it (testsrc2's colour bars); once it is gone
    # (after at most half a second of its last picture) the standby picture, until the
    # camera is back (the studio reconnects by itself).
    standby = render_standby(W, H)[:, :, :3].astype(np.float64)

    def is_standby(f: FrameDelivered) -> bool:
        return float(np.abs(f.rgba[:, :, :3].astype(np.float64) - standby).mean()) < 1.0

    assert not is_standby(frames[5])
    assert any(is_standby(f) for f in frames[lost_at - 5:]), "no standby after the loss"
    messages = [p.message for p in rec.of(Problem)]
    assert any("no microphone" in m for m in messages)
    assert any("disconnected" in m or "not working" in m for m in messages), messages

    eng2, rec2 = make_engine(mode=Mode.HUMAN, crossfade_s=0.0)
    eng2.run_frames(3)
    assert any("no camera" in p.message for p in rec2.of(Problem))
    assert rec2.frames()[-1].rgba[:, :, :3].mean() > 20


def test_studio_run_puppet_from_files_and_bad_inputs_exit_2(media: Media, tmp_path: Path,
                                                            write_show: Callable[[str], Path]
                                                            ) -> None:
    from studio.cli import main
    from studio.run import run_live

    show = write_show(SHOW)
    out_file = tmp_path / "puppet.mp4"
    out, err = io.StringIO(), io.StringIO()
    code = run_live(show, [str(out_file)], size=(W, H), for_s=2.0, camera=str(media.face_video),
                    mic=str(media.speech_wav), mode="puppet", status_every_s=1.0,
                    out=out, err=err)
    assert code == 0, err.getvalue()
    assert "PUPPET" in out.getvalue()
    assert out_file.stat().st_size > 10_000
    assert main(["run", str(show), "--out", str(tmp_path / "x.mp4"), "--camera",
                 str(tmp_path / "missing.mp4"), "--for", "1"]) == 2
    assert main(["run", str(show), "--out", str(tmp_path / "x.mp4"), "--crossfade", "9",
                 "--for", "1"]) == 2


def test_the_human_keeps_the_card_and_can_move_to_another_product(
        make_engine: Callable[..., tuple[LiveEngine, Recorder]], media: Media) -> None:
    eng, rec = make_engine(camera=parse_camera(str(media.no_face_video)), crossfade_s=0.0)
    eng.send_at(10 * SPF, cmd.SetMode(Mode.HUMAN))
    eng.send_at(20 * SPF, cmd.GoToProduct("b"))
    eng.send_at(50 * SPF, cmd.SetMode(Mode.AI))
    eng.run_frames(50)
    x, y, w, h = StageLayout.for_frame(W, H).card_rect_px
    empty = facemedia.background_frame((W, H)).astype(np.float64)

    def card_shows(i: int) -> bool:
        region = rec.frames()[i].rgba[y:y + h, x:x + w, :3].astype(np.float64)
        return float(np.abs(region - empty[y:y + h, x:x + w]).mean()) > 20

    assert not card_shows(15)  # the intro: no product yet, the camera everywhere
    assert card_shows(40)  # the human went to "b": its card is over the camera
    run_until_b = [s for s in rec.of(SentenceStarted) if s.product_id == "b"]
    for _ in range(900):
        if run_until_b:
            break
        eng.run_frames(1)
        run_until_b = [s for s in rec.of(SentenceStarted) if s.product_id == "b"]
    assert run_until_b, "the AI, back on air, did not present the product the human chose"
    assert not [s for s in rec.of(SentenceStarted) if s.product_id == "a"]


def test_a_voice_without_alignments_moves_the_lips_through_the_audio_to_face_model(
        write_show: Callable[[str], Path], piper_voice: object) -> None:
    """A voice that gives only audio (no phoneme spans): the live engine's mouth follows it."""
    from studio.voice.types import SpeechClip

    class NoAlignments:
        name = "joe-without-alignments"
        execution_provider = "CPU"

        def synthesize(self, sentence: str) -> SpeechClip:
            clip = piper_voice.synthesize(sentence)  # type: ignore[attr-defined]
            return SpeechClip(clip.text, clip.spoken_text, clip.audio, clip.sample_rate_hz,
                              (), clip.words)

    jaws: list[float] = []
    eng = LiveEngine(load_show(write_show(SHOW)), width_px=320, height_px=180, realtime=False,
                     tts=NoAlignments())  # type: ignore[arg-type]
    rec = Recorder()
    eng.subscribe(rec)
    eng.run_frames(1)
    face = eng._face
    original = face.params_at_frame

    def spy(i: int) -> FaceParams:
        params = original(i)
        jaws.append(params.jaw_open)
        return params

    face.params_at_frame = spy  # type: ignore[method-assign,assignment]
    eng.run_frames(150)
    eng.close()
    started = rec.of(SentenceStarted)
    assert started, "the host did not speak"
    first = started[0]
    frames = range(first.start_samples // SPF + 1, min(first.end_samples // SPF, 150))
    spoken = [jaws[i - 1] for i in frames if i - 1 < len(jaws)]
    print(f"jaw while speaking: {min(spoken):.2f}..{max(spoken):.2f}")
    assert max(spoken) > 0.2 and min(spoken) < 0.1  # it opens on vowels and closes between
    assert max(jaws[: max(1, first.start_samples // SPF - 2)]) < 0.05  # shut before it speaks


def test_a_hot_microphone_is_held_under_the_true_peak_ceiling(
        make_engine: Callable[..., tuple[LiveEngine, Recorder]], media: Media,
        tmp_path: Path) -> None:
    import re
    import subprocess
    import wave

    hot = tmp_path / "hot.wav"
    pcm = (np.clip(media.speech * 4.0, -1.0, 1.0) * 32767).astype("<i2")
    with wave.open(str(hot), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(pcm.tobytes())
    out = tmp_path / "hot.mkv"
    eng, rec = make_engine(mic=parse_mic(str(hot)), mode=Mode.HUMAN,
                           outputs=[parse_target(str(out))])
    eng.run_frames(90)
    eng.close()
    # The program as the engine sends it: every sample under the -1 dBTP ceiling.
    peaks = [m.peak_dbfs for m in rec.of(AudioMeter)]
    assert peaks and max(peaks) <= -1.0, max(peaks)
    # And as a viewer gets it, after the recording's AAC (which may overshoot a little).
    report = subprocess.run(["ffmpeg", "-nostats", "-i", str(out), "-af", "ebur128=peak=true",
                             "-f", "null", "-"], capture_output=True, text=True,
                            check=True).stderr
    peak = float(re.findall(r"Peak:\s+(-?[\d.]+) dBFS", report)[-1])
    assert peak < 0.0, peak


@pytest.mark.parametrize("gain_db", [-14.0, 8.0])
def test_a_quiet_or_loud_microphone_goes_on_air_at_the_program_loudness(
        make_engine: Callable[..., tuple[LiveEngine, Recorder]], media: Media,
        tmp_path: Path, gain_db: float) -> None:
    import re
    import subprocess
    import wave

    from studio.program.loudness import TARGET_LUFS

    mic = tmp_path / "mic.wav"
    pcm = np.clip(media.speech * 10.0 ** (gain_db / 20.0), -1.0, 1.0)
    with wave.open(str(mic), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes((pcm * 32767).astype("<i2").tobytes())
    out = tmp_path / "levelled.mkv"
    eng, _ = make_engine(mic=parse_mic(str(mic)), mode=Mode.HUMAN,
                         outputs=[parse_target(str(out))])
    eng.run_frames(12 * FPS)
    eng.close()

    def loudness(*args: str) -> float:
        report = subprocess.run(["ffmpeg", "-nostats", *args, "-af", "ebur128", "-f", "null",
                                 "-"], capture_output=True, text=True, check=True).stderr
        return float(re.findall(r"I:\s+(-?[\d.]+) LUFS", report)[-1])

    heard = loudness("-ss", "6", "-i", str(out))  # once the leveller has settled
    raw = loudness("-i", str(mic))
    print(f"microphone {raw:.1f} LUFS -> on air {heard:.1f} LUFS")
    # The file is mono; the program carries it on two channels (+3 LU). Well off the target:
    assert abs(raw + 3.0 - TARGET_LUFS) > 2.5
    assert abs(heard - TARGET_LUFS) <= 2.0, heard
