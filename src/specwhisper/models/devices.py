"""Where a model computes: the CPU, or an NVIDIA GPU through PyTorch's CUDA build.

Only the models move. Audio, features' first pass, logit filters, verification and sampling
stay on the CPU: a decoder hands its logits back as CPU float32 (one row of 51,865 floats is
200 kB, a few microseconds over PCIe, and the GPU has to finish the pass before any token can
be chosen anyway), so every rule that picks a token is the same code on either device.
"""

from __future__ import annotations

import os

import torch

from ..errors import OptionsError

DEVICES = ("auto", "cpu", "cuda")
DEVICE_ENV = "SPECWHISPER_DEVICE"


def resolve_device(device: str | None = None) -> str:
    """``auto`` (the default, or $SPECWHISPER_DEVICE) -> ``cuda`` when PyTorch sees a GPU, else
    ``cpu``; ``cpu``, ``cuda`` and ``cuda:N`` are checked. A GPU comes back as ``cuda:N``."""
    name = (device or os.environ.get(DEVICE_ENV) or "auto").strip().lower()
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cpu":
        return name
    if name == "cuda" or name.startswith("cuda:"):
        if not torch.cuda.is_available():
            build = "a CPU-only build" if torch.version.cuda is None else "no GPU in sight"
            raise OptionsError(
                f"device {name!r}: PyTorch {torch.__version__} has {build}; use device cpu "
                "(or auto)",
                "device",
            )
        index = name.partition(":")[2] or str(torch.cuda.current_device())
        if not index.isdigit() or int(index) >= torch.cuda.device_count():
            raise OptionsError(
                f"device {name!r}: this machine has cuda:0 to cuda:{torch.cuda.device_count() - 1}",
                "device",
            )
        return f"cuda:{index}"  # one spelling per GPU: models are loaded once per device
    raise OptionsError(
        f"device must be one of {', '.join(DEVICES)} (or cuda:N), not {device!r}", "device"
    )


def gpu_name(device: str | None = None) -> str | None:
    """The GPU's name (``NVIDIA H200``...) when ``device`` resolves to one, else None."""
    where = resolve_device(device)
    return None if where == "cpu" else torch.cuda.get_device_name(torch.device(where))


def module_device(module: torch.nn.Module) -> torch.device:
    """The device of ``module``'s first parameter or buffer (the CPU for an empty module)."""
    for tensor in module.parameters():
        return tensor.device
    for tensor in module.buffers():
        return tensor.device
    return torch.device("cpu")


def finished(tensor: torch.Tensor) -> torch.Tensor:
    """``tensor`` once the GPU has computed it: GPU work is queued, so without this a stage's
    timer would stop before the stage did, and the next stage would be charged for it."""
    if tensor.is_cuda:
        torch.cuda.synchronize(tensor.device)
    return tensor


def on_cpu(logits: torch.Tensor) -> torch.Tensor:
    """Logits as the token rules read them: float32 on the CPU (see the module's docstring)."""
    return logits if logits.device.type == "cpu" else logits.float().cpu()
