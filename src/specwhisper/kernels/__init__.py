"""Small native kernels, compiled on first use with the system C compiler.

``int8_linear``: float32 rows times an int8 weight (one scale per output channel), with each row
rounded to int16 rather than PyTorch's 7-bit dynamic int8 (see ``int8_linear.c``).
``decoder_step``: one whole decoder step of a weight-only int8 draft for a few tokens
(``decoder_step.c``; ``decoding.native_step`` builds its table). ``attend``: its attention
alone, each token computed by itself whatever shares the call (an int8 main model's decoder).
They need an x86-64 processor with AVX512-VNNI and a C compiler (``$CC``, default ``cc``);
``available()`` says whether both are there, and callers use PyTorch's kernels otherwise. The
shared library is cached under ``$SPECWHISPER_CACHE`` (default ``~/.cache/specwhisper``), named
by a hash of its sources and flags, so a changed source is rebuilt.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import shutil
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import torch

from ..hardware import cpu_flags

_SOURCES = [Path(__file__).with_name(name) for name in ("int8_linear.c", "decoder_step.c")]
_FLAGS = [
    "-O3",
    "-fopenmp",
    "-mavx512f",
    "-mavx512bw",
    "-mavx512vl",
    "-mavx512vnni",
    "-fPIC",
    "-shared",
]
_LIBS = ["-lm"]
_NEEDED_CPU = {"avx512f", "avx512bw", "avx512vl", "avx512_vnni"}

_lock = threading.Lock()
_function = None
_step_function = None
_attend_function = None
_failure: str | None = None


def cache_dir() -> Path:
    root = os.environ.get("SPECWHISPER_CACHE") or Path.home() / ".cache" / "specwhisper"
    return Path(root) / "kernels"


def _build() -> Path:
    """The compiled library (built now if this source and these flags were never built)."""
    compiler = os.environ.get("CC", "cc")
    if shutil.which(compiler) is None:
        raise RuntimeError(f"no C compiler {compiler!r} (set CC)")
    text = b"".join(source.read_bytes() for source in _SOURCES) + " ".join(_FLAGS).encode()
    target = cache_dir() / f"specwhisper-kernels-{hashlib.sha256(text).hexdigest()[:16]}.so"
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    # Built under a temporary name and renamed: another process may be building it too.
    handle, partial = tempfile.mkstemp(suffix=".so", dir=target.parent)
    os.close(handle)
    command = [compiler, *_FLAGS, "-o", partial, *map(str, _SOURCES), *_LIBS]
    try:
        subprocess.run(command, check=True, capture_output=True, text=True, timeout=120)
        os.replace(partial, target)
    except subprocess.CalledProcessError as error:
        raise RuntimeError(f"{' '.join(command)} failed: {error.stderr.strip()[-500:]}") from None
    finally:
        Path(partial).unlink(missing_ok=True)
    return target


def _load():
    global _function, _step_function, _attend_function, _failure
    with _lock:
        if _function is not None or _failure is not None:
            return _function
        missing = _NEEDED_CPU - cpu_flags()
        if missing:
            _failure = f"the processor lacks {', '.join(sorted(missing))}"
            return None
        try:
            library = ctypes.CDLL(str(_build()))
        except (OSError, RuntimeError, subprocess.SubprocessError) as error:
            _failure = str(error)
            return None
        function = library.sw_int8_linear
        function.argtypes = [ctypes.c_void_p] * 5 + [ctypes.c_int] * 4
        function.restype = ctypes.c_int
        step = library.sw_decoder_step
        step.argtypes = [ctypes.c_void_p, *[ctypes.c_int] * 10, ctypes.c_void_p, ctypes.c_void_p]
        step.argtypes += [ctypes.c_float, ctypes.c_float, ctypes.c_void_p, ctypes.c_int]
        step.restype = ctypes.c_int
        attend = library.sw_attend
        attend.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p]
        attend.argtypes += [ctypes.c_int] * 3 + [ctypes.c_void_p] * 2 + [ctypes.c_int] * 4
        attend.argtypes += [ctypes.c_void_p, ctypes.c_int]
        attend.restype = ctypes.c_int
        _function, _step_function, _attend_function = function, step, attend
        return _function


def available() -> bool:
    """Whether ``int8_linear`` runs here (builds the kernel on first call)."""
    return _load() is not None


def unavailable_reason() -> str | None:
    """Why ``available()`` is False (None when it is True or was not asked yet)."""
    _load()
    return _failure


def int8_linear(
    rows: torch.Tensor, weight: torch.Tensor, scale: torch.Tensor, bias: torch.Tensor | None
) -> torch.Tensor:
    """(M, K) float32 rows x (N, K) int8 weight^T * (N,) float32 scale + bias -> (M, N).

    K must be a multiple of 32; every tensor contiguous on the CPU (checked here, since the
    kernel reads raw memory)."""
    count, width = rows.shape
    outputs = weight.shape[0]
    if (
        rows.dtype != torch.float32
        or weight.dtype != torch.int8
        or scale.dtype != torch.float32
        or weight.shape[1] != width
        or scale.shape != (outputs,)
        or (bias is not None and (bias.dtype != torch.float32 or bias.shape != (outputs,)))
        or not all(t.is_contiguous() and t.device.type == "cpu" for t in (rows, weight, scale))
    ):
        raise ValueError("int8_linear: float32 (M, K) rows, int8 (N, K) weight, float32 scale")
    return int8_linear_unchecked(rows, weight, scale, bias)


def int8_linear_unchecked(
    rows: torch.Tensor, weight: torch.Tensor, scale: torch.Tensor, bias: torch.Tensor | None
) -> torch.Tensor:
    """``int8_linear`` without its checks, for callers that made the tensors themselves
    (``models.weight_int8``): a draft step calls it ~40 times."""
    function = _function or _load()
    if function is None:
        raise RuntimeError(f"the int8 kernel is unavailable: {_failure}")
    count, width = rows.shape
    out = torch.empty(count, weight.shape[0])
    status = function(
        rows.data_ptr(),
        weight.data_ptr(),
        scale.data_ptr(),
        bias.data_ptr() if bias is not None else None,
        out.data_ptr(),
        count,
        weight.shape[0],
        width,
        torch.get_num_threads(),
    )
    if status == -2:
        raise MemoryError(f"int8_linear: no memory for {count} x {width} int16 rows")
    if status != 0:
        raise ValueError(f"int8_linear: K = {width} is not a multiple of 32")
    return out


@dataclass(frozen=True)
class StepShape:
    """What ``decoder_step`` needs to know of a decoder besides its pointer table."""

    rows: int  # rows of the cache buffers (windows decoded together)
    layers: int
    width: int  # d_model
    heads: int
    ffn: int  # the feed-forward layer's inner width
    cache: int  # self-attention slots per head in the cache buffers
    frames: int  # cross-attention keys per head
    cross_bf16: bool  # cross-attention keys/values in bfloat16 (else float32)
    cache_bf16: bool  # the self-attention cache in bfloat16 (else float32)
    eps: float  # the layer norms' epsilon
    scaling: float  # query scaling (head_dim ** -0.5)


def decoder_step(
    table: torch.Tensor,
    shape: StepShape,
    slots: list[int],
    positions: list[int],
    x: torch.Tensor,
) -> None:
    """One decoder step over a few tokens, in place: ``x`` ((tokens, d_model) float32,
    contiguous) holds each token's embedding plus its position's and becomes the last layer's
    output; token t sits at ``positions[t]`` of cache row ``slots[t]``. Tokens of one row must
    be consecutive positions in order, starting where the row's cache ends (the C code writes
    every token's keys/values before any attention reads them). ``table``: the int64 pointer
    table of ``decoding.native_step`` (which keeps every pointed-to tensor alive and checks
    shapes, dtypes and contiguity: the C code reads raw memory)."""
    if _step_function is None and _load() is None:
        raise RuntimeError(f"the native kernels are unavailable: {_failure}")
    tokens = len(positions)
    # The C code writes tokens x width floats into x and one cache slot per token.
    if len(slots) != tokens or not (
        tokens >= 1
        and x.dtype == torch.float32
        and x.is_contiguous()
        and x.device.type == "cpu"
        and tuple(x.shape) == (tokens, shape.width)
    ):
        raise ValueError(
            f"decoder_step: x must be float32 (tokens, {shape.width}), contiguous, with one "
            f"cache row and one position per token; got {tuple(x.shape)} {x.dtype}, "
            f"{len(slots)} rows and {tokens} positions"
        )
    status = _step_function(
        table.data_ptr(),
        shape.layers,
        shape.width,
        shape.heads,
        shape.ffn,
        shape.cache,
        shape.frames,
        int(shape.cross_bf16),
        int(shape.cache_bf16),
        shape.rows,
        tokens,
        (ctypes.c_int * tokens)(*slots),
        (ctypes.c_int * tokens)(*positions),
        shape.eps,
        shape.scaling,
        x.data_ptr(),
        torch.get_num_threads(),
    )
    _check(
        status, "decoder_step", f"unsupported shape {shape} at rows {slots}, positions {positions}"
    )


def attend(
    query: torch.Tensor,
    keys: torch.Tensor,
    values: torch.Tensor,
    slots: list[int],
    positions: list[int] | None = None,
) -> torch.Tensor:
    """Scaled dot-product attention with each token-head computed alone, in one fixed order: a
    token's numbers do not depend on the other tokens or rows in the call (``sw_attend``).

    ``query``: (tokens, heads * head_dim) float32, already scaled; ``keys``/``values``:
    contiguous (rows, heads, slots, head_dim) float32 or bfloat16 tensors; token t reads row
    ``slots[t]`` and attends over keys ``0 .. positions[t]`` (causal self-attention) or over all
    of them (``positions`` None: cross-attention). Returns (tokens, heads * head_dim) float32."""
    if _attend_function is None and _load() is None:
        raise RuntimeError(f"the native kernels are unavailable: {_failure}")
    tokens = query.shape[0]
    rows, heads, length, head_dim = keys.shape
    if (
        query.dim() != 2
        or query.dtype != torch.float32
        or query.shape[1] != heads * head_dim
        or keys.dtype not in (torch.float32, torch.bfloat16)
        or values.dtype != keys.dtype
        or values.shape != keys.shape
        or len(slots) != tokens
        or (positions is not None and len(positions) != tokens)
        or not all(t.is_contiguous() and t.device.type == "cpu" for t in (query, keys, values))
    ):
        raise ValueError(
            "attend: float32 (tokens, heads * head_dim) queries, contiguous (rows, heads, "
            "slots, head_dim) keys and values of one dtype, one row (and position) per token"
        )
    out = torch.empty(tokens, heads * head_dim)
    status = _attend_function(
        query.data_ptr(),
        query.shape[1],
        keys.data_ptr(),
        values.data_ptr(),
        int(keys.dtype == torch.bfloat16),
        rows,
        length,
        (ctypes.c_int * tokens)(*slots),
        (ctypes.c_int * tokens)(*positions) if positions is not None else None,
        length,
        tokens,
        heads,
        head_dim,
        out.data_ptr(),
        torch.get_num_threads(),
    )
    shape = tuple(keys.shape)
    _check(status, "attend", f"unsupported shape {shape} at rows {slots}, positions {positions}")
    return out


def _check(status: int, kernel: str, unsupported: str) -> None:
    """A C kernel's status: 0 done, -2 out of memory, anything else a shape it refused."""
    if status == -2:
        raise MemoryError(f"{kernel}: out of memory")
    if status != 0:
        raise ValueError(f"{kernel}: {unsupported}")
