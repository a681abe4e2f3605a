"""Phoneme → viseme targets, and the timeline clean-up that turns Piper's spans into mouth segments.

Piper (espeak-ng IPA) gives one span per symbol, including zero-ish markers (stress, length), word
gaps and punctuation pauses. The renderer only cares about mouth *shapes* over time, so this module
maps every sounding symbol to a target vector plus a per-parameter dominance (how strongly the
segment imposes that parameter on its neighbours, after Cohen & Massaro), folds the markers into
the sounds they belong to, drops silence (silence is simply "no segment": closed mouth), and adds
anticipatory lip rounding. Times here are integer samples on the engine clock.

Mandarin comes from two front-ends, one span per symbol (character) in both:

* misaki's zh front-end (legacy v1.0 set, used by Kokoro v1.0): tone arrows ``→ ↗ ↓ ↘`` after
  the syllable's vowel (``ʨjɛ→n``), ligature affricates ``ʦ ʨ ꭧ`` (ts, tɕ, tʂ) with a separate
  aspiration ``ʰ``, ``ɨ`` for the apical vowels of zhi/zi, ``ɤ ɚ y ɥ ʊ ɔ``.
* espeak-ng's cmn: tone numbers after the syllable (``tɕˈiɑ5``, tone 2 written ``ɜ``), ``.``
  after retroflexes and ``ʅ`` (``ts.ˈi.2``), ``-`` after ``o`` for ``ɤ`` (``ʐˈo-5``), the
  dental mark ``̪`` for ``ɿ``, aspiration as ``h``.

A tone is a pitch, not a pause: tone symbols (arrows, Chao letters ``˥˦˧˨˩``, digits, combining
tone marks) are folded into the sound before them, as length marks are, so the mouth stays open
through the syllable. The espeak modifiers ``.``/``-``/``ɜ`` are read as modifiers only in a
tonal stream (one that has a tone symbol) and only between sounds, so English punctuation is
untouched.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum
from unicodedata import category, combining

from studio.voice.types import PhonemeSpan

MOUTH_PARAMS: tuple[str, ...] = (
    "jaw_open", "lip_pucker", "lip_press", "lip_stretch", "smile", "tongue_up",
)
"""Order of the mouth columns in every target/dominance vector."""

JAW, PUCKER, PRESS, STRETCH, SMILE, TONGUE = range(6)
N_MOUTH = len(MOUTH_PARAMS)

SHORT_GAP_S = 0.100
"""A word gap shorter than this is co-articulated through (split between its neighbours)."""

ROUNDING_LOOKAHEAD_S = 0.200
"""How far before a rounded vowel the lips start to round across consonants (anticipation)."""


class Kind(Enum):
    VOWEL = "vowel"
    CONSONANT = "consonant"
    BILABIAL = "bilabial"  # p b m: lips must fully close
    SILENCE = "silence"  # ^ $ punctuation: closed mouth
    GAP = "gap"  # ' ' word gap
    STRESS = "stress"  # ˈ ˌ: belongs to the following sound
    LENGTH = "length"  # ː: lengthens the preceding sound
    TONE = "tone"  # ↗ ˥˩ 5: pitch of the syllable, belongs to the preceding sound


Vec = tuple[float, float, float, float, float, float]


@dataclass(frozen=True, slots=True)
class Viseme:
    """Mouth target (0..1 per MOUTH_PARAMS column) and its dominance over neighbours."""

    kind: Kind
    target: Vec
    dominance: Vec


def _t(jaw: float, pucker: float = 0.0, press: float = 0.0, stretch: float = 0.0,
       smile: float = 0.0, tongue: float = 0.0) -> Vec:
    return (jaw, pucker, press, stretch, smile, tongue)


# Dominance rows (jaw, pucker, press, stretch, smile, tongue). Vowels own the jaw; consonants own
# the articulator they use (tongue, lips) and yield the jaw.
_D_VOWEL: Vec = (1.0, 0.8, 0.5, 0.8, 0.6, 0.3)
_D_CONS: Vec = (0.6, 0.4, 0.6, 0.5, 0.4, 0.8)
_D_TONGUE: Vec = (0.6, 0.4, 0.6, 0.5, 0.4, 1.3)
_D_ROUND: Vec = (0.6, 1.3, 0.6, 0.8, 0.4, 0.6)
_D_BILABIAL: Vec = (1.5, 0.4, 2.0, 0.6, 0.5, 0.3)
_D_LABIODENTAL: Vec = (0.9, 0.4, 1.5, 0.5, 0.4, 0.5)
_D_NONE: Vec = (1.0, 1.0, 1.0, 1.0, 1.0, 1.0)

SILENCE_DOMINANCE: Vec = _D_NONE
"""Dominance of silence (closed mouth, all targets 0) wherever no segment covers the time."""

_CLOSED: Vec = _t(0.0)

_VOWELS: dict[str, Vec] = {
    "i": _t(0.20, stretch=0.60, smile=0.15),
    "ɪ": _t(0.25, stretch=0.45, smile=0.10),
    "e": _t(0.35, stretch=0.50, smile=0.10),
    "ɛ": _t(0.45, stretch=0.35, smile=0.05),
    "æ": _t(0.68, stretch=0.35, smile=0.05),
    "a": _t(0.75, stretch=0.10),
    "ɑ": _t(0.75, pucker=0.05),
    "ɒ": _t(0.65, pucker=0.30),
    "ɔ": _t(0.55, pucker=0.65),
    "o": _t(0.40, pucker=0.75),
    "ʊ": _t(0.30, pucker=0.70),
    "u": _t(0.20, pucker=0.85),
    "ʌ": _t(0.60, stretch=0.10),
    "ə": _t(0.40, stretch=0.05),
    "ɚ": _t(0.35, pucker=0.30, tongue=0.30),
    "ɜ": _t(0.40, pucker=0.20, tongue=0.20),
    "ᵻ": _t(0.30, stretch=0.30),
    "ɐ": _t(0.50, stretch=0.05),
    "y": _t(0.20, pucker=0.80),
    "ø": _t(0.35, pucker=0.70),
    "œ": _t(0.50, pucker=0.55),
    "ɯ": _t(0.25, stretch=0.30),
    "ɨ": _t(0.25, stretch=0.25),
    # Mandarin.
    "ɤ": _t(0.40, stretch=0.15),  # 饿 e: mid back unrounded
    "ɿ": _t(0.20, stretch=0.35, tongue=0.30),  # zi ci si: apical, lips spread
    "ʅ": _t(0.22, pucker=0.15, tongue=0.40),  # zhi chi shi ri: apical retroflex
    "ᵊ": _t(0.35, stretch=0.05),
}

_CONSONANTS: dict[str, tuple[Vec, Vec]] = {
    "f": (_t(0.12, press=0.50, stretch=0.10), _D_LABIODENTAL),
    "v": (_t(0.12, press=0.50, stretch=0.10), _D_LABIODENTAL),
    "θ": (_t(0.15, tongue=0.80), _D_TONGUE),
    "ð": (_t(0.15, tongue=0.80), _D_TONGUE),
    "t": (_t(0.15, tongue=0.90), _D_TONGUE),
    "d": (_t(0.15, tongue=0.90), _D_TONGUE),
    "n": (_t(0.15, tongue=0.90), _D_TONGUE),
    "l": (_t(0.25, tongue=1.00), _D_TONGUE),
    "ɾ": (_t(0.20, tongue=0.80), _D_TONGUE),
    "s": (_t(0.10, stretch=0.35, tongue=0.30), _D_CONS),
    "z": (_t(0.10, stretch=0.35, tongue=0.30), _D_CONS),
    "ʃ": (_t(0.15, pucker=0.60, tongue=0.30), _D_ROUND),
    "ʒ": (_t(0.15, pucker=0.60, tongue=0.30), _D_ROUND),
    "tʃ": (_t(0.15, pucker=0.55, tongue=0.50), _D_ROUND),
    "dʒ": (_t(0.15, pucker=0.55, tongue=0.50), _D_ROUND),
    "k": (_t(0.25), _D_CONS),
    "ɡ": (_t(0.25), _D_CONS),
    "g": (_t(0.25), _D_CONS),
    "ŋ": (_t(0.20), _D_CONS),
    "x": (_t(0.25), _D_CONS),
    "ç": (_t(0.15, stretch=0.30), _D_CONS),
    "h": (_t(0.30), _D_CONS),  # reshaped to its vowel by _aspirate
    "ɹ": (_t(0.20, pucker=0.45, tongue=0.30), _D_ROUND),
    "r": (_t(0.20, pucker=0.35, tongue=0.60), _D_CONS),
    "w": (_t(0.10, pucker=0.90), _D_ROUND),
    "j": (_t(0.15, stretch=0.40), _D_CONS),
    "ʔ": (_t(0.15), _D_CONS),
    # Mandarin initials (misaki's ligatures ʦ ʨ ꭧ and espeak's/IPA's spelled-out forms).
    "ts": (_t(0.10, stretch=0.35, tongue=0.40), _D_CONS),
    "dz": (_t(0.10, stretch=0.35, tongue=0.40), _D_CONS),
    "ʦ": (_t(0.10, stretch=0.35, tongue=0.40), _D_CONS),
    "ʣ": (_t(0.10, stretch=0.35, tongue=0.40), _D_CONS),
    "tɕ": (_t(0.12, stretch=0.45, tongue=0.50), _D_CONS),
    "dʑ": (_t(0.12, stretch=0.45, tongue=0.50), _D_CONS),
    "ʨ": (_t(0.12, stretch=0.45, tongue=0.50), _D_CONS),
    "ʥ": (_t(0.12, stretch=0.45, tongue=0.50), _D_CONS),
    "ɕ": (_t(0.12, stretch=0.45, tongue=0.40), _D_CONS),
    "ʑ": (_t(0.12, stretch=0.45, tongue=0.40), _D_CONS),
    "ʈʂ": (_t(0.15, pucker=0.35, tongue=0.60), _D_ROUND),
    "tʂ": (_t(0.15, pucker=0.35, tongue=0.60), _D_ROUND),
    "ɖʐ": (_t(0.15, pucker=0.35, tongue=0.60), _D_ROUND),
    "ꭧ": (_t(0.15, pucker=0.35, tongue=0.60), _D_ROUND),
    "ꭦ": (_t(0.15, pucker=0.35, tongue=0.60), _D_ROUND),
    "ʂ": (_t(0.15, pucker=0.40, tongue=0.50), _D_ROUND),
    "ʐ": (_t(0.18, pucker=0.35, tongue=0.50), _D_ROUND),
    "ɻ": (_t(0.20, pucker=0.35, tongue=0.50), _D_ROUND),
    "ɥ": (_t(0.10, pucker=0.85, stretch=0.10), _D_ROUND),
    "χ": (_t(0.25), _D_CONS),
    "ɣ": (_t(0.25), _D_CONS),
    "ɲ": (_t(0.15, tongue=0.70), _D_TONGUE),
    "ɳ": (_t(0.15, tongue=0.90), _D_TONGUE),
    "ʈ": (_t(0.15, tongue=0.90), _D_TONGUE),
    "ɖ": (_t(0.15, tongue=0.90), _D_TONGUE),
    "ʧ": (_t(0.15, pucker=0.55, tongue=0.50), _D_ROUND),
    "ʤ": (_t(0.15, pucker=0.55, tongue=0.50), _D_ROUND),
    "ɫ": (_t(0.25, tongue=1.00), _D_TONGUE),
}


_BILABIALS = frozenset("pbm")
_SILENCES = frozenset({"^", "$", "_", ".", ",", "!", "?", ";", ":", "—", "–", "-", "…", '"', "(",
                       ")", "«", "»"})
_STRESS = frozenset({"ˈ", "ˌ"})
_LENGTH = frozenset({"ː", "ˑ"})
_TONES = frozenset("→↗↘↓↑↙↖˥˦˧˨˩0123456789\u0300\u0301\u0302\u0304\u030c")
"""Tone arrows (misaki), Chao tone letters, tone numbers (espeak cmn), combining tone marks."""
_IGNORABLE = ("ˈˌːˑʰ\u0361\u035c\u0325\u0329\u032f\u032a\u0320\u031a"
              + "".join(sorted(_TONES)))  # stress, length, aspiration, ties, diacritics, tones

FALLBACK_VISEME = Viseme(Kind.CONSONANT, _t(0.25), _D_CONS)
"""What an unknown symbol gets: a neutral half-open consonant (tests check nothing falls here)."""
_FALLBACK = FALLBACK_VISEME
_ASPIRATES = frozenset({"h", "ʰ", "ɦ"})


def viseme_for(symbol: str) -> Viseme:
    """Viseme of one Piper phoneme symbol; unknown symbols get a neutral half-open consonant."""
    if symbol in _STRESS:
        return Viseme(Kind.STRESS, _CLOSED, _D_NONE)
    if symbol in _LENGTH:
        return Viseme(Kind.LENGTH, _CLOSED, _D_NONE)
    if symbol and all(ch in _TONES for ch in symbol):
        return Viseme(Kind.TONE, _CLOSED, _D_NONE)
    if symbol in ("ʰ", "ɦ"):
        return Viseme(Kind.CONSONANT, *_CONSONANTS["h"])  # reshaped to its vowel by _aspirate
    if (symbol and symbol not in _VOWELS and symbol not in _CONSONANTS
            and all(combining(ch) or category(ch) == "Lm" for ch in symbol)):
        return Viseme(Kind.LENGTH, _CLOSED, _D_NONE)  # a lone diacritic (NFD-split) or modifier
    if symbol == " " or symbol.isspace():
        return Viseme(Kind.GAP, _CLOSED, _D_NONE)
    if symbol in _SILENCES or symbol == "":
        return Viseme(Kind.SILENCE, _CLOSED, _D_NONE)
    core = "".join(ch for ch in symbol if ch not in _IGNORABLE) or symbol
    if core in _BILABIALS:
        return Viseme(Kind.BILABIAL, _t(0.0, press=1.0), _D_BILABIAL)
    if core in _VOWELS:
        return Viseme(Kind.VOWEL, _VOWELS[core], _D_VOWEL)
    if core in _CONSONANTS:
        target, dom = _CONSONANTS[core]
        return Viseme(Kind.CONSONANT, target, dom)
    if all(not ch.isalpha() for ch in core):
        return Viseme(Kind.SILENCE, _CLOSED, _D_NONE)
    if core[0] in _VOWELS:  # diphthong symbols are split by split_symbol; here take the onset
        return Viseme(Kind.VOWEL, _VOWELS[core[0]], _D_VOWEL)
    if core[0] in _BILABIALS:
        return Viseme(Kind.BILABIAL, _t(0.0, press=1.0), _D_BILABIAL)
    if core[0] in _CONSONANTS:
        target, dom = _CONSONANTS[core[0]]
        return Viseme(Kind.CONSONANT, target, dom)
    return _FALLBACK


def split_symbol(symbol: str) -> list[tuple[str, float]]:
    """Split a multi-vowel symbol (e.g. 'aɪ', 'oʊ') into parts with duration fractions.

    Piper normally emits one IPA character per span, but diphthongs may arrive fused; their
    mouth shape glides from the first to the second vowel, so they become two segments.
    """
    core = "".join(ch for ch in symbol if ch not in _IGNORABLE)
    vowels = [ch for ch in core if ch in _VOWELS]
    if len(core) >= 2 and len(vowels) == len(core):
        first = 0.6
        rest = (1.0 - first) / (len(core) - 1)
        return [(core[0], first)] + [(ch, rest) for ch in core[1:]]
    return [(symbol, 1.0)]


@dataclass(slots=True)
class Segment:
    """A sounding stretch of the mouth timeline: [start, end) samples with its viseme."""

    start_samples: int
    end_samples: int
    kind: Kind
    target: list[float]
    dominance: list[float]
    stress: int = 0  # 0 none, 1 primary, 2 secondary (on vowels)
    symbol: str = field(default="")

    @property
    def center_samples(self) -> int:
        return (self.start_samples + self.end_samples) // 2


def build_segments(phonemes: Sequence[PhonemeSpan], sample_rate_hz: int) -> list[Segment]:
    """Turn Piper's phoneme spans into sorted, non-overlapping sounding segments.

    Silence/punctuation is dropped (absence of a segment means closed mouth); stress marks extend
    the following sound and mark its vowel as stressed; length marks extend the preceding sound;
    short word gaps are split between their neighbours so words run together as in real speech.
    """
    raw: list[Segment] = []
    overrides = _tonal_overrides([span.phoneme for span in phonemes])
    for n, span in enumerate(phonemes):
        start, end = int(span.start_samples), int(span.end_samples)
        if end < start:
            raise ValueError(f"phoneme {span.phoneme!r} ends before it starts: {start}..{end}")
        if raw and start < raw[-1].start_samples:
            raise ValueError("phoneme spans must be in time order")
        parts = split_symbol(span.phoneme)
        cursor = start
        for idx, (sym, frac) in enumerate(parts):
            part_end = end if idx == len(parts) - 1 else cursor + round((end - start) * frac)
            vis = overrides.get(n) or viseme_for(sym)
            raw.append(Segment(cursor, part_end, vis.kind, list(vis.target), list(vis.dominance),
                               symbol=sym))
            cursor = part_end

    _fold_markers(raw)
    short_gap = round(SHORT_GAP_S * sample_rate_hz)
    segments = _resolve_gaps(raw, short_gap)
    _aspirate(segments)
    _anticipate_rounding(segments, round(ROUNDING_LOOKAHEAD_S * sample_rate_hz))
    return segments


def _is_sound(seg: Segment) -> bool:
    return seg.kind in (Kind.VOWEL, Kind.CONSONANT, Kind.BILABIAL)


_SOUNDING = (Kind.VOWEL, Kind.CONSONANT, Kind.BILABIAL)
_MARKER = Viseme(Kind.LENGTH, _CLOSED, _D_NONE)
_TONE_MARK = Viseme(Kind.TONE, _CLOSED, _D_NONE)


def _tonal_overrides(symbols: Sequence[str]) -> dict[int, Viseme]:
    """espeak cmn's in-syllable modifiers, by span index (empty for a non-tonal stream).

    In a stream with tone symbols, ``.`` and ``-`` straight after a sound and before another
    symbol of the same word are modifiers (retroflex, ``o-`` = ɤ), not punctuation; ``ɜ`` after
    a sound and not lengthened (English ``ɜː``) is espeak's tone 2, not a vowel. The vowel before a
    modifier takes the shape it stands for (``i.`` = ʅ, ``i̪`` = ɿ, ``o-`` = ɤ).
    """
    if not any(sym and all(ch in _TONES for ch in sym) for sym in symbols):
        return {}
    out: dict[int, Viseme] = {}
    kinds = [viseme_for(sym).kind for sym in symbols]
    for i, sym in enumerate(symbols):
        prev_sym = symbols[i - 1] if i > 0 else ""
        prev_kind = out[i - 1].kind if i - 1 in out else kinds[i - 1] if i > 0 else Kind.SILENCE
        nxt = symbols[i + 1] if i + 1 < len(symbols) else ""
        after_sound = prev_kind in _SOUNDING or prev_kind is Kind.LENGTH
        if sym in (".", "-") and after_sound and nxt and not nxt.isspace() \
                and nxt not in _SILENCES:
            out[i] = _MARKER
            shape = {("i", "."): "ʅ", ("o", "-"): "ɤ"}.get((prev_sym, sym))
            if shape is not None:
                out[i - 1] = Viseme(Kind.VOWEL, _VOWELS[shape], _D_VOWEL)
        elif sym == "ɜ" and after_sound and nxt not in _LENGTH:
            out[i] = _TONE_MARK
        elif sym == "\u032a" and prev_sym == "i":
            out[i - 1] = Viseme(Kind.VOWEL, _VOWELS["ɿ"], _D_VOWEL)
    return out


def _fold_markers(raw: list[Segment]) -> None:
    """Give stress/length spans to the sound they belong to; record stress on the next vowel."""
    for i, seg in enumerate(raw):
        if seg.kind is Kind.STRESS:
            level = 1 if seg.symbol == "ˈ" else 2
            j = next((k for k in range(i + 1, len(raw))
                      if raw[k].kind not in (Kind.STRESS, Kind.LENGTH, Kind.TONE)), None)
            nxt = raw[j] if j is not None else None
            if j is not None and nxt is not None and _is_sound(nxt):
                # The marker's (tiny) span becomes part of the following sound.
                nxt.start_samples = min(nxt.start_samples, seg.start_samples)
                seg.end_samples = seg.start_samples
                for later in raw[j:]:
                    if later.kind in (Kind.SILENCE, Kind.GAP):
                        break
                    if later.kind is Kind.VOWEL:
                        later.stress = later.stress or level
                        break
            seg.kind = Kind.SILENCE if nxt is None or not _is_sound(nxt) else Kind.STRESS
        elif seg.kind in (Kind.LENGTH, Kind.TONE):
            prev = next((s for s in reversed(raw[:i])
                         if s.kind not in (Kind.STRESS, Kind.LENGTH, Kind.TONE)), None)
            if prev is not None and _is_sound(prev):
                prev.end_samples = max(prev.end_samples, seg.end_samples)
                seg.end_samples = seg.start_samples
            else:
                seg.kind = Kind.SILENCE


def _resolve_gaps(raw: list[Segment], short_gap_samples: int) -> list[Segment]:
    """Keep sounding segments only; split short word gaps between the adjacent sounds."""
    out: list[Segment] = []
    pending_gap: Segment | None = None
    for seg in raw:
        if seg.kind in (Kind.STRESS, Kind.LENGTH, Kind.TONE):
            continue
        if seg.kind is Kind.GAP:
            pending_gap = seg if pending_gap is None else Segment(
                pending_gap.start_samples, seg.end_samples, Kind.GAP, [], [])
            continue
        if seg.kind is Kind.SILENCE:
            pending_gap = None
            out.append(seg)  # kept for now as a barrier, removed below
            continue
        if (pending_gap is not None and out and _is_sound(out[-1])
                and pending_gap.end_samples - pending_gap.start_samples < short_gap_samples
                and out[-1].end_samples >= pending_gap.start_samples
                and seg.start_samples <= pending_gap.end_samples):
            mid = (pending_gap.start_samples + pending_gap.end_samples) // 2
            out[-1].end_samples = max(out[-1].end_samples, mid)
            seg.start_samples = min(seg.start_samples, mid)
        pending_gap = None
        if seg.end_samples > seg.start_samples:
            if out and _is_sound(out[-1]) and out[-1].end_samples > seg.start_samples:
                seg.start_samples = out[-1].end_samples  # defensive: never overlap
            if seg.end_samples > seg.start_samples:
                out.append(seg)
    return [s for s in out if _is_sound(s)]


def _aspirate(segments: list[Segment]) -> None:
    """'h' has no mouth shape of its own: it takes the adjacent vowel's shape, less open.

    (A weak-dominance 'h' between a vowel and silence would instead squeeze the vowel→silence
    transition into a single frame.)
    """
    for i, seg in enumerate(segments):
        if seg.symbol not in _ASPIRATES:
            continue
        nxt = segments[i + 1] if i + 1 < len(segments) else None
        prev = segments[i - 1] if i > 0 else None
        if nxt is not None and nxt.kind is Kind.VOWEL and nxt.start_samples <= seg.end_samples:
            source, open_ratio = nxt, 0.8
        elif prev is not None and prev.kind is Kind.VOWEL and prev.end_samples >= seg.start_samples:
            source, open_ratio = prev, 0.6
        else:
            continue
        seg.target = list(source.target)
        seg.target[JAW] *= open_ratio


def _anticipate_rounding(segments: list[Segment], lookahead_samples: int) -> None:
    """Lips round ahead of a rounded vowel across the consonants before it (and a little after)."""
    for i, vowel in enumerate(segments):
        if vowel.kind is not Kind.VOWEL or vowel.target[PUCKER] < 0.5:
            continue
        rounding = vowel.target[PUCKER]
        # Anticipation: walk back over contiguous consonants within the look-ahead window.
        edge = vowel.start_samples
        for j in range(i - 1, -1, -1):
            cons = segments[j]
            if cons.kind is Kind.VOWEL or cons.end_samples < edge:
                break
            lead = vowel.start_samples - cons.end_samples
            if lead > lookahead_samples:
                break
            carry = 0.8 * rounding * (1.0 - lead / lookahead_samples)
            cons.target[PUCKER] = max(cons.target[PUCKER], carry)
            edge = cons.start_samples
        # Carry-over: the next consonant keeps some rounding.
        if i + 1 < len(segments):
            nxt = segments[i + 1]
            if nxt.kind is not Kind.VOWEL and nxt.start_samples <= vowel.end_samples:
                nxt.target[PUCKER] = max(nxt.target[PUCKER], 0.4 * rounding)
