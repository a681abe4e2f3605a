"""Errors a user can act on: each names the problem and the fix."""

from __future__ import annotations


class StudioError(Exception):
    """An error whose message is meant for the user, printed without a traceback."""

    exit_code = 1


class UserInputError(StudioError):
    """Bad input from the user (show file, flags, paths): exit status 2."""

    exit_code = 2


class DependencyError(StudioError):
    """A missing system piece (font, GL driver, voice file) with the command that installs it."""

    exit_code = 3
