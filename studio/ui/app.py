"""Starts the Qt application with the studio window (``studio`` / ``studio app SHOW``)."""

from __future__ import annotations

import signal
import sys
from fractions import Fraction
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from studio.ui.main_window import StudioWindow, live_engine_factory
from studio.ui.theme import apply_dark_theme


def create_application(argv: list[str] | None = None) -> QApplication:
    """The one QApplication, themed; reused when it exists (tests, embedding)."""
    existing = QApplication.instance()
    if isinstance(existing, QApplication):
        return existing
    app = QApplication(argv if argv is not None else sys.argv[:1])
    app.setApplicationName("LiveHost Studio")
    app.setOrganizationName("LiveHost")
    app.setDesktopFileName("livehost-studio")
    apply_dark_theme(app)
    return app


def run_app(show_path: Path | None = None, *, width_px: int = 1280, height_px: int = 720,
            fps: Fraction = Fraction(30), audio_device: str | None = None,
            camera: str | None = None, mic: str | None = None,
            as_run_dir: Path | None = None, operator: str = "") -> int:
    """Open the window (with ``show_path`` on air) and run until it is closed.

    Outputs come from the settings (Settings ▸ Outputs / Audio), the camera, microphone and
    crossfade from Settings ▸ Inputs; ``audio_device`` names the
    sound device and wins over the settings' choice; ``camera`` and ``mic`` (``--camera``/
    ``--mic`` text) likewise win over Settings ▸ Inputs for this run. ``as_run_dir``: where
    each run's as-run log goes (None: none); ``operator`` (``--operator``) names the person
    at the desk in it, over Settings ▸ General ▸ Operator. Each show on air is supervised
    (``StudioWindow``)."""
    app = create_application()
    window = StudioWindow(audio_device=audio_device, camera=camera, mic=mic,
                          as_run_dir=as_run_dir, operator=operator)
    window.engine_factory = live_engine_factory(width_px, height_px, fps,
                                                outputs=window.output_specs,
                                                inputs=window.engine_inputs)
    window.show()
    if show_path is not None:
        window.open_show(show_path)
    # Ctrl+C in the terminal closes the window cleanly (stopping the engine, saving settings).
    signal.signal(signal.SIGINT, lambda *_: window.close())
    tick = QTimer()
    tick.start(250)  # lets Python see the signal while Qt's loop runs
    tick.timeout.connect(lambda: None)
    return app.exec()
