"""LiveHost Studio: AI digital hosts for live commerce."""

__version__ = "0.1.0"
