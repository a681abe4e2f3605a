"""Where the project's bundled assets and the user's files live."""

from __future__ import annotations

import os
from pathlib import Path

from studio.core.errors import DependencyError, UserInputError


def assets_dir() -> Path:
    """The repository's assets/ folder (the app runs from its checkout), or $LIVEHOST_ASSETS."""
    override = os.environ.get("LIVEHOST_ASSETS")
    candidate = Path(override) if override else Path(__file__).resolve().parent.parent / "assets"
    if not candidate.is_dir():
        raise DependencyError(f"the assets folder is missing ({candidate}); run LiveHost Studio "
                              "from its checkout or set LIVEHOST_ASSETS to the assets folder")
    return candidate


DEMO_SHOWS = {("en", "female"): ("demo", "demo.toml"), ("en", "male"): ("demo", "demo_leo.toml"),
              ("zh", "female"): ("demo_zh", "demo_zh.toml")}
"""The bundled demo shows by language and host: Ava (Kokoro jf_alpha), Leo (Piper joe), 小雅."""


def demo_show_path(language: str = "en", host: str = "female") -> Path:
    try:
        folder, name = DEMO_SHOWS[(language, host)]
    except KeyError:
        offered = ", ".join(f"--lang {lang} --host {sex}" for lang, sex in DEMO_SHOWS)
        raise UserInputError(f"there is no demo show for language {language!r} with a {host} "
                             f"host; there are: {offered}") from None
    return assets_dir() / "shows" / folder / name


def default_output_dir() -> Path:
    """Renders go to ./out when the current folder is writable, else the user's videos folder."""
    from platformdirs import user_videos_dir

    here = Path.cwd() / "out"
    if os.access(Path.cwd(), os.W_OK):
        return here
    return Path(user_videos_dir()) / "LiveHost Studio"
