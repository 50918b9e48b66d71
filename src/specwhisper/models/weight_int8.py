"""Weight-only int8 linear layers, for drafts: int8 weights, activations kept near float32.

A draft is worth what it agrees with the main model per byte it reads. PyTorch's dynamic int8
(FBGEMM) also rounds each activation vector to 7 bits with one scale, and on Whisper's decoder
that is where most of a draft's disagreement comes from. Teacher-forced on the long dev files'
19 windows, base's dynamically quantized self-draft picked base's own token at 87.4 % of 1,713
positions, the same int8 weights with int16 activations at 98.1 % (``scripts/draft_agreement.py``,
``bench/results/draft-agreement``). Both read the same bytes per step, and a draft that is
accepted more often makes longer drafts pay.

Few rows (a draft step, a small batch) go through ``kernels.int8_linear`` (int16 activations,
exact integer products). Many rows (a prompt, a large batch) go through a dense copy of the
dequantized weight, made on first need: bfloat16 where the processor computes in it, else
float32.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from .. import kernels
from ..hardware import native_bf16

# Up to this many rows the int8 kernel beats a dense product on base's shapes (1536 x 512: 22 us
# for 1 row, 61 for 4, 121 for 8 with weights in cache); beyond it its cost grows with each row.
KERNEL_MAX_ROWS = 8


def available() -> bool:
    """Whether weight-only int8 layers run fast here (the int8 kernel builds and runs)."""
    return kernels.available()


class WeightOnlyInt8Linear(nn.Module):
    """y = x W^T + b with W in int8 (one scale per output channel, symmetric); float32 in and
    out. Needs ``available()``."""

    def __init__(self, linear: nn.Linear) -> None:
        super().__init__()
        if not available():
            raise RuntimeError(
                f"weight-only int8 needs the int8 kernel: {kernels.unavailable_reason()}"
            )
        weight = linear.weight.detach().float()
        if weight.shape[1] % 32:
            raise ValueError(f"in_features must be a multiple of 32, not {weight.shape[1]}")
        scale = weight.abs().amax(dim=1).clamp(min=1e-12) / 127.0
        quantized = torch.round(weight / scale[:, None]).clamp(-127, 127).to(torch.int8)
        self.in_features, self.out_features = linear.in_features, linear.out_features
        self.register_buffer("weight", quantized.contiguous())
        self.register_buffer("scale", scale.contiguous())
        bias = linear.bias.detach().float().contiguous() if linear.bias is not None else None
        self.register_buffer("bias", bias)
        self._dense: torch.Tensor | None = None

    def dense_weight(self) -> torch.Tensor:
        """The dequantized weight (made once; threads racing here make equal copies, one of
        which is kept)."""
        if self._dense is None:
            dtype = torch.bfloat16 if native_bf16() else torch.float32
            self._dense = (self.weight.float() * self.scale[:, None]).to(dtype).contiguous()
        return self._dense

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = x.shape
        rows = x.reshape(-1, self.in_features)
        if rows.shape[0] <= KERNEL_MAX_ROWS:
            rows = rows.to(torch.float32).contiguous()
            out = kernels.int8_linear_unchecked(rows, self.weight, self.scale, self.bias)
        else:
            dense = self.dense_weight()
            out = F.linear(rows.to(dense.dtype), dense)
            # Adding the float32 bias promotes a bfloat16 product back to float32 in one step.
            out = torch.add(self.bias, out) if self.bias is not None else out.float()
        return out.view(*shape[:-1], self.out_features)


def replace_linears(module: nn.Module, make: Callable[[nn.Linear], nn.Module]) -> None:
    """Replace every nn.Linear under ``module`` by ``make(linear)``, in place."""
    for name, child in list(module.named_children()):
        if isinstance(child, nn.Linear):
            setattr(module, name, make(child))
        else:
            replace_linears(child, make)


def weight_only_int8(module: nn.Module) -> None:
    """Replace every nn.Linear under ``module`` by a WeightOnlyInt8Linear, in place."""
    replace_linears(module, WeightOnlyInt8Linear)
