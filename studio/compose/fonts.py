"""CJK-capable fonts for overlays.

Product names and the mandatory "AI生成" label are Chinese, so a Latin-only font would
draw empty boxes (tofu) on air. Every candidate is therefore *probed*: it must draw real,
distinct glyphs for Chinese characters, or it is skipped. No silent fallback.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from PIL import ImageFont, features

from studio.core.errors import DependencyError

FONT_DIR_ENV = "LIVEHOST_FONT_DIR"
FONT_SUFFIXES = (".ttc", ".otf", ".ttf", ".otc")
# Debian/Ubuntu's fonts-noto-cjk: the preferred, known-good pair.
DEBIAN_NOTO_CJK = (
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc"),
)
REPO_FONT_DIR = Path(__file__).resolve().parents[2] / "assets" / "fonts"
INSTALL_HINT = "apt-get install fonts-noto-cjk"

# Characters the probe renders: two different hanzi, and a code point no font maps
# (private use, plane 16) that therefore draws the font's .notdef glyph.
_PROBE_CHARS = ("无", "线")
_NOTDEF_CHAR = "\U0010fffd"
_PROBE_SIZE_PX = 32
_MAX_TTC_FACES = 32
# CJK fonts draw "·" full-width (1 em): with libraqm, OpenType "palt" makes it proportional.
# Without raqm Pillow cannot apply features, and the dot is merely wider.
PROPORTIONAL_FEATURES: list[str] | None = ["palt"] if features.check_feature("raqm") else None
_WEIGHT_WORDS = ("bold", "black", "heavy", "semibold", "demibold", "medium",
                 "light", "thin", "extralight")


@dataclass(frozen=True)
class FontSet:
    """Paths of a regular and a bold font that both draw CJK (bold may equal regular)."""

    regular: Path
    bold: Path


def draws_cjk(font: ImageFont.FreeTypeFont | ImageFont.ImageFont) -> bool:
    """True when ``font`` draws real hanzi: inked, distinct from each other and from .notdef."""
    masks = []
    for char in (*_PROBE_CHARS, _NOTDEF_CHAR):
        mask = font.getmask(char)
        masks.append((mask.size, bytes(mask)))
    first, second, notdef = masks
    if not any(first[1]) or not any(second[1]):
        return False  # blank glyphs: the font maps the chars to nothing
    return first != second and first != notdef and second != notdef


@functools.lru_cache(maxsize=32)
def _face_index(path: Path) -> int | None:
    """The face to use in ``path``: for collections the Simplified Chinese (SC) one.

    Returns None when no face in the file draws CJK.
    """
    usable: list[tuple[int, str]] = []
    for index in range(_MAX_TTC_FACES if path.suffix.lower() in (".ttc", ".otc") else 1):
        try:
            font = ImageFont.truetype(str(path), _PROBE_SIZE_PX, index=index)
        except OSError:
            break  # past the last face, or not a font at all
        family = font.getname()[0] or ""
        if draws_cjk(font):
            usable.append((index, family))
    if not usable:
        return None

    def rank(item: tuple[int, str]) -> tuple[int, int, int]:
        words = item[1].replace("-", " ").split()
        return ("SC" not in words, "Mono" in words, item[0])

    return min(usable, key=rank)[0]


def _is_bold_name(path: Path) -> bool:
    return "bold" in path.stem.lower()


def _is_regular_name(path: Path) -> bool:
    stem = path.stem.lower()
    return "regular" in stem or not any(word in stem for word in _WEIGHT_WORDS)


def _pairs_in_dir(directory: Path) -> Iterator[tuple[Path, Path | None]]:
    """(regular, bold) candidates from a folder of font files, best-named first."""
    if directory.is_file():
        yield directory, None
        return
    if not directory.is_dir():
        return
    files = sorted(p for p in directory.iterdir() if p.suffix.lower() in FONT_SUFFIXES)
    regulars = [p for p in files if _is_regular_name(p)] + [
        p for p in files if not _is_regular_name(p) and not _is_bold_name(p)]
    bolds = [p for p in files if _is_bold_name(p)]
    for regular in regulars:
        family = regular.stem.lower().replace("regular", "").rstrip("-_ ")
        same_family = [b for b in bolds if b.stem.lower().startswith(family)]
        yield regular, same_family[0] if same_family else None
    for bold in bolds:  # a folder holding only a bold file still beats tofu
        yield bold, bold


def _fontconfig_files(pattern: str) -> list[Path]:
    """Files fontconfig returns for ``pattern`` (empty when fontconfig is not installed)."""
    fc_list = shutil.which("fc-list")
    fc_match = shutil.which("fc-match")
    try:
        if pattern.startswith(":") and fc_list:
            out = subprocess.run([fc_list, pattern, "file"], capture_output=True, text=True,
                                 timeout=10, check=False).stdout
            files = [line.strip().rstrip(":") for line in out.splitlines()]
            # Sans before Serif, so the list order of fontconfig does not pick serif text.
            return sorted((Path(f) for f in files if f),
                          key=lambda p: ("sans" not in p.name.lower(), str(p)))
        if fc_match:
            out = subprocess.run([fc_match, "-f", "%{file}", pattern], capture_output=True,
                                 text=True, timeout=10, check=False).stdout.strip()
            return [Path(out)] if out else []
    except (OSError, subprocess.SubprocessError):
        return []
    return []


def _candidate_pairs() -> Iterator[tuple[Path, Path | None]]:
    """Candidate (regular, bold) files, most preferred first; probed later, lazily."""
    env_dir = os.environ.get(FONT_DIR_ENV, "").strip()
    if env_dir:
        yield from _pairs_in_dir(Path(env_dir).expanduser())
    yield from _pairs_in_dir(REPO_FONT_DIR)
    yield DEBIAN_NOTO_CJK
    regular = _fontconfig_files("Noto Sans CJK SC")
    bold = _fontconfig_files("Noto Sans CJK SC:style=Bold")
    if regular:
        yield regular[0], bold[0] if bold else None
    for path in _fontconfig_files(":lang=zh"):
        yield path, None


@functools.lru_cache(maxsize=1)
def find_cjk_fonts() -> FontSet:
    """The first candidate font that really draws CJK, with a bold partner when one exists.

    Order: $LIVEHOST_FONT_DIR, the repo's assets/fonts/, Debian's Noto Sans CJK,
    fontconfig's "Noto Sans CJK SC", then any font fontconfig says covers Chinese.
    """
    seen: set[Path] = set()
    for regular, bold in _candidate_pairs():
        if regular in seen or not regular.is_file():
            continue
        seen.add(regular)
        if _face_index(regular) is None:
            continue
        if bold is None or not bold.is_file() or _face_index(bold) is None:
            bold = regular
        return FontSet(regular=regular, bold=bold)
    raise DependencyError(
        "no font that can draw Chinese text was found (needed for product names and the "
        f"\"AI生成\" label). Noto Sans CJK provides one; install it: {INSTALL_HINT} "
        f"(or put a CJK .ttf/.otf/.ttc in ${FONT_DIR_ENV})")


@functools.lru_cache(maxsize=64)
def load_font(size_px: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    """The CJK font at ``size_px`` pixels (em size), cached: loading a .ttc costs milliseconds."""
    if size_px < 1:
        raise ValueError(f"font size must be at least 1 px, got {size_px}")
    fonts = find_cjk_fonts()
    path = fonts.bold if bold else fonts.regular
    index = _face_index(path) or 0
    return ImageFont.truetype(str(path), size_px, index=index)


def clear_font_caches() -> None:
    """Forget found fonts (after installing one, or in tests)."""
    find_cjk_fonts.cache_clear()
    load_font.cache_clear()
    _face_index.cache_clear()
