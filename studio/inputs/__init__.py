"""Inputs: the human host's camera and microphone, or files standing in for them.

See ``studio.inputs.base`` for the interface and why capture goes through PyAV."""

from studio.core.backoff import Backoff
from studio.inputs.base import (
    AudioInput,
    CapturedFrame,
    InputHealth,
    InputKind,
    InputSpec,
    InputState,
    VideoInput,
    build_audio_input,
    build_video_input,
    parse_camera,
    parse_mic,
)
from studio.inputs.camera import CameraInfo, list_cameras
from studio.inputs.microphone import MicrophoneInfo, list_microphones

__all__ = [
    "AudioInput",
    "Backoff",
    "CameraInfo",
    "CapturedFrame",
    "InputHealth",
    "InputKind",
    "InputSpec",
    "InputState",
    "MicrophoneInfo",
    "VideoInput",
    "build_audio_input",
    "build_video_input",
    "list_cameras",
    "list_microphones",
    "parse_camera",
    "parse_mic",
]
