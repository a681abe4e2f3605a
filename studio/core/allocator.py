"""The C allocator (glibc's malloc): its figures, and settings that keep a long run flat.

A show on air allocates and frees pictures, packets and encoder buffers on a dozen threads.
With glibc's defaults three things make its RSS creep over hours (measured with
``bench/bench_soak.py``, 2026-12-02, 640x360@30 into an MP4 and a UDP stream):

- glibc raises its mmap threshold to the size of any mapped block freed (up to 32 MB), so
  large, growing blocks end up in the arenas. An MP4 muxer keeps an index entry (~72 bytes)
  for every packet until the file is finished, in arrays grown by ``realloc`` 1,024
  entries at a time; in an arena, each growth that cannot happen in place copies the
  array and leaves a hole its old size: 0.3 MB a show-minute of index became 0.7 MB of RSS.
- Up to 8 arenas a core (15 were made here), each holding what was freed into it.
- Freed memory stays resident until malloc happens to trim the top of a heap.

So a long run fixes the mmap threshold at ``MMAP_THRESHOLD_BYTES`` (large blocks get their
own mapping, grow by ``mremap`` and go back to the system when freed), limits the arenas to
``ARENAS`` (set before threads start) and gives free memory back every ``RELEASE_EVERY_S``
(``malloc_trim``, a few milliseconds). Only glibc on Linux is touched; elsewhere every
function here does nothing and says so.
"""
from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import functools
import logging
import os
import re
import sys
import threading
import time
from typing import Any

_LOG = logging.getLogger("studio.allocator")

ARENAS = 2  # malloc arenas in a long run (glibc's default on 2 cores is 16)
# Blocks from this size up get their own mapping: grown in place by mremap, given back to
# the system when freed. Above a 1280x720 RGBA picture (3.5 MiB), so pictures up to 720p
# stay in the arenas (a mapping per frame costs page faults); below what an MP4's index
# reaches (~72 bytes a packet: 19 MB an hour at 30 fps with AAC).
MMAP_THRESHOLD_BYTES = 4 << 20
RELEASE_EVERY_S = 30.0


@functools.cache
def _glibc() -> Any:
    """glibc, or None (another libc, another system)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.gnu_get_libc_version.restype = ctypes.c_char_p
        libc.gnu_get_libc_version()
    except (OSError, AttributeError):
        return None
    return libc


class _Mallinfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]


def heap_figures() -> dict[str, Any]:
    """What malloc holds, in MB, all arenas together: ``in_use`` (allocated and not freed),
    ``free`` (freed but kept in its heaps), ``mmapped`` (large blocks, each its own
    mapping), and ``arenas``, how many heaps malloc made (one per thread that allocated at
    once with another, up to its limit). Empty where this is not glibc 2.33 or later."""
    libc = _glibc()
    if libc is None or not hasattr(libc, "mallinfo2"):
        return {}
    libc.mallinfo2.restype = _Mallinfo2
    info = libc.mallinfo2()
    mb = 1 << 20
    figures: dict[str, Any] = {
        "in_use_mb": round(info.uordblks / mb, 1), "free_mb": round(info.fordblks / mb, 1),
        "mmapped_mb": round(info.hblkhd / mb, 1), "mmapped_blocks": info.hblks}
    arenas = _arena_count(libc)
    if arenas is not None:
        figures["arenas"] = arenas
    return figures


def _arena_count(libc: Any) -> int | None:
    """Arenas, from ``malloc_info`` (an XML report written into a memory stream)."""
    buf = ctypes.c_char_p()
    size = ctypes.c_size_t()
    libc.open_memstream.restype = ctypes.c_void_p
    libc.open_memstream.argtypes = [ctypes.POINTER(ctypes.c_char_p),
                                    ctypes.POINTER(ctypes.c_size_t)]
    libc.malloc_info.argtypes = [ctypes.c_int, ctypes.c_void_p]
    libc.fclose.argtypes = [ctypes.c_void_p]
    libc.free.argtypes = [ctypes.c_void_p]
    stream = libc.open_memstream(ctypes.byref(buf), ctypes.byref(size))
    if not stream:
        return None
    try:
        libc.malloc_info(0, stream)
    finally:
        libc.fclose(stream)
    try:
        text = ctypes.string_at(buf, size.value).decode("ascii", "replace")
    finally:
        libc.free(buf)
    return len(re.findall(r"<heap nr=", text)) or None


M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8


def limit_arenas(n: int) -> bool:
    """At most ``n`` malloc arenas from now on (glibc makes up to 8 a core, each a 64 MB
    region, and memory freed into one arena cannot serve another). Call before threads
    start: it does not merge arenas already made. True where it was set."""
    return _mallopt(M_ARENA_MAX, n)


def fix_mmap_threshold(n_bytes: int) -> bool:
    """Blocks of ``n_bytes`` and more each get a mapping of their own. glibc starts at 128
    KB and raises the threshold to the size of any such block freed (up to 32 MB), after
    which large, growing blocks such as an MP4 muxer's index live in the arenas: each
    ``realloc`` that cannot grow in place copies the block and leaves a hole as large as it
    was. A fixed threshold stops that. True where it was set."""
    return _mallopt(M_MMAP_THRESHOLD, n_bytes)


def _mallopt(option: int, value: int) -> bool:
    """glibc's ``mallopt(option, value)``; False where this is not glibc or it refused."""
    libc = _glibc()
    if libc is None:
        return False
    with contextlib.suppress(AttributeError):
        return bool(libc.mallopt(option, value))
    return False


def release_free_memory() -> bool:
    """Give the system back what malloc holds free, in every arena (``malloc_trim(0)``).
    True if some memory went back. Cheap (milliseconds); do it every minute or so."""
    libc = _glibc()
    if libc is None:
        return False
    with contextlib.suppress(AttributeError):
        return bool(libc.malloc_trim(0))
    return False


_releases = {"count": 0, "ms_max": 0.0, "ms_total": 0.0}


def _release_forever(every_s: float) -> None:
    while True:
        time.sleep(every_s)
        started = time.perf_counter()
        release_free_memory()
        ms = (time.perf_counter() - started) * 1000
        _releases["count"] += 1
        _releases["ms_total"] += ms
        _releases["ms_max"] = max(_releases["ms_max"], ms)


def release_figures() -> dict[str, float]:
    """The periodic releases so far: how many, and how long the longest took (ms); malloc
    holds each arena's lock meanwhile, so a thread allocating there waits that long."""
    return {"count": _releases["count"], "ms_max": round(_releases["ms_max"], 1),
            "ms_mean": round(_releases["ms_total"] / max(1, _releases["count"]), 1)}


_tuned: dict[str, Any] = {}
_tune_lock = threading.Lock()


def tune_for_long_runs(arenas: int = ARENAS, mmap_threshold_bytes: int = MMAP_THRESHOLD_BYTES,
                       release_every_s: float = RELEASE_EVERY_S) -> dict[str, Any]:
    """At process start, before threads start: at most ``arenas`` malloc arenas, blocks from
    ``mmap_threshold_bytes`` up mapped on their own, and free memory given back every
    ``release_every_s`` by a daemon thread. A setting given in the environment
    (``MALLOC_ARENA_MAX``, ``MALLOC_MMAP_THRESHOLD_``, which glibc reads itself) is left as
    it is. Once per process; returns what was done (empty where this is not glibc)."""
    with _tune_lock:
        if _tuned or _glibc() is None:
            return dict(_tuned)
        for key, variable, setting, value in (
                ("arenas", "MALLOC_ARENA_MAX", limit_arenas, arenas),
                ("mmap_threshold_bytes", "MALLOC_MMAP_THRESHOLD_", fix_mmap_threshold,
                 mmap_threshold_bytes)):
            if variable in os.environ:
                _tuned[key] = f"{variable}={os.environ[variable]}"
            elif setting(value):
                _tuned[key] = value
        threading.Thread(target=_release_forever, args=(release_every_s,),
                         name="malloc-release", daemon=True).start()
        _tuned["release_every_s"] = release_every_s
        _LOG.info("allocator: %s", _tuned)
        return dict(_tuned)
