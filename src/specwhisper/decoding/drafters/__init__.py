"""Drafters, chosen by name. A new drafter is a new module plus one line in ``make_drafter``."""

from __future__ import annotations

import torch

from ...errors import DraftError
from ...models import weight_int8
from ...models.loading import WhisperBundle, load_model
from .base import Drafter, DraftSession, WindowContext
from .cross_vocab import CrossVocabDrafter
from .hybrid import HybridDrafter
from .model_draft import ModelDrafter
from .ngram import NgramDrafter
from .self_int8 import SelfInt8Drafter

__all__ = [
    "Drafter",
    "DraftSession",
    "WindowContext",
    "make_drafter",
    "DRAFT_CHOICES",
    "DraftError",
]

DRAFT_CHOICES = ("auto", "none", "self-int8", "ngram", "ngram+<draft>", "<model name>")


def int8_available(main: WhisperBundle | None = None) -> bool:
    """Whether int8 drafts can run: PyTorch's quantized engines are CPU-only."""
    on_cpu = main is None or main.device.type == "cpu"
    return on_cpu and torch.backends.quantized.engine not in (None, "", "none")


def make_drafter(
    spec: str | None, main: WhisperBundle, compute_type: str = "float32"
) -> Drafter | None:
    """``none``, ``auto``, ``self-int8``, ``ngram`` (prompt lookup), ``ngram+DRAFT`` (lookup
    first, then DRAFT), or a model name (same tokenizer -> ``model`` drafter, another tokenizer
    -> ``cross`` drafter). ``auto`` is the fastest lossless choice measured: on a CPU the
    main model's own int8 decoder, on a GPU no draft (bench/results has the figures)."""
    if spec is None or spec == "none":
        return None
    if spec == "ngram":
        return NgramDrafter()
    if spec.startswith("ngram+"):
        model = make_drafter(spec.removeprefix("ngram+"), main)
        if model is None or isinstance(model, NgramDrafter | HybridDrafter):
            raise DraftError(f"{spec!r}: after ngram+ name a model draft, such as self-int8")
        return HybridDrafter(model)
    if spec == "auto":
        # Measured (bench/results/longform-longdev, peers-8clips): for a float32 main its int8
        # decoder drafts at a fraction of a verification's cost. For an int8 main it pays only
        # as the weight-only draft with its native step (2.12x against 1.57x without a draft on
        # the long files); PyTorch's dynamic int8 draft steps cost about what the int8 main's
        # own do (+0.2 % on the long files), so without the kernels an int8 main decodes alone.
        # On a GPU a decoder step costs its kernel launches, whatever the model's size or
        # precision: a model draft's step costs about what a verification does, and drafting
        # cannot pay (bench/results/gpu-*).
        if not int8_available(main):
            return None
        if compute_type != "float32" and not weight_int8.available():
            return None
        return SelfInt8Drafter(main)
    if spec == "self-int8":
        if not int8_available(main):
            raise DraftError(
                "self-int8 needs PyTorch's quantized CPU engine and a main model on the CPU; "
                "use --draft none, ngram or a model name (or --device cpu)"
            )
        return SelfInt8Drafter(main)
    draft = load_model(spec, str(main.device))
    if draft.source.location == main.source.location:
        # Drafting for itself: exact agreement expected, and no second encoder pass.
        return ModelDrafter(draft, int8=False, shares_main_encoder=True)
    if draft.tokenizer.get_vocab() == main.tokenizer.get_vocab():
        return ModelDrafter(draft, int8=int8_available(main))
    return CrossVocabDrafter(draft, main, int8=int8_available(main))
