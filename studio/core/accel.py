"""Which onnxruntime execution providers to use, chosen once and logged, never silently."""

from __future__ import annotations

import logging
import os
from functools import cache

_LOG = logging.getLogger("studio.accel")

# Best first. TensorRT builds engines on first use (slow start), so it is opt-in.
_GPU_PROVIDERS = ("CUDAExecutionProvider",)
_TENSORRT = "TensorrtExecutionProvider"
_CPU = "CPUExecutionProvider"


@cache
def available_providers() -> tuple[str, ...]:
    import onnxruntime

    return tuple(onnxruntime.get_available_providers())


def requested_providers() -> list[str]:
    """Providers to ask a session for: GPU ones onnxruntime offers, then the CPU as fallback.

    ``LIVEHOST_EP=cpu`` forces the CPU; ``LIVEHOST_TENSORRT=1`` adds TensorRT in front of CUDA.
    """
    if os.environ.get("LIVEHOST_EP", "").lower() == "cpu":
        return [_CPU]
    offered = available_providers()
    wanted: list[str] = []
    if os.environ.get("LIVEHOST_TENSORRT") == "1" and _TENSORRT in offered:
        wanted.append(_TENSORRT)
    wanted += [p for p in _GPU_PROVIDERS if p in offered]
    wanted.append(_CPU)
    return wanted


_logged: set[tuple[str, str]] = set()


def log_provider_once(model_name: str, providers_in_use: list[str]) -> str:
    """Log the provider a model actually runs on (first one onnxruntime kept), once per model."""
    provider = providers_in_use[0] if providers_in_use else _CPU
    key = (model_name, provider)
    if key not in _logged:
        _logged.add(key)
        short = provider.removesuffix("ExecutionProvider")
        _LOG.info("%s runs on onnxruntime's %s execution provider", model_name, short)
    return provider


def short_provider_name(provider: str) -> str:
    return provider.removesuffix("ExecutionProvider").replace("Tensorrt", "TensorRT")
