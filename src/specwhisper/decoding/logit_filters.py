"""Whisper's logit rules as composable filters, shared by plain search, verification and drafts.

They are openai-whisper's (``SuppressBlank``, ``SuppressTokens``, ``ApplyTimestampRules``, in
that order) and equal transformers' processors for the same options. Several rules depend on
the tokens sampled so far, so a filter works on rows that each predict a different position:
row ``i`` of an ``(n, vocab)`` block predicts the token after ``sampled[:len(sampled) - n + 1
+ i]``. Verification scores a whole draft in one block, and every row sees the prefix it would
see in plain decoding, which is what keeps speculative output identical.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import torch

from ..models.loading import WhisperBundle
from ..segments import TIME_PRECISION
from .options import TranscribeOptions

NEG_INF = float("-inf")


def row_prefix_lengths(sampled: list[int], rows: int) -> range:
    """Prefix length seen by each of ``rows`` rows (see the module docstring)."""
    first = len(sampled) - rows + 1
    return range(first, first + rows)


class LogitFilter(Protocol):
    def apply(self, logits: torch.Tensor, sampled: list[int]) -> None:
        """Mask (n, vocab) float32 ``logits`` in place for the prefixes of ``sampled``."""
        ...


class SuppressTokens:
    """Tokens that are never sampled: non-speech symbols and the special tokens."""

    def __init__(self, token_ids: list[int], vocab_size: int) -> None:
        # An index, not a vocabulary-wide boolean mask: filling ~90 columns costs a few
        # microseconds, masking through 51,865 flags 30-190 (measured, 1-6 rows).
        ids = sorted({t for t in token_ids if 0 <= t < vocab_size})
        self.index = torch.tensor(ids, dtype=torch.long)

    def apply(self, logits: torch.Tensor, sampled: list[int]) -> None:
        logits.index_fill_(1, self.index, NEG_INF)


class SuppressBlank:
    """At the first sampled position: no blank (a lone space) and no end-of-text."""

    def __init__(self, token_ids: list[int]) -> None:
        self.token_ids = token_ids

    def apply(self, logits: torch.Tensor, sampled: list[int]) -> None:
        for row, length in enumerate(row_prefix_lengths(sampled, logits.shape[0])):
            if length == 0:
                logits[row, self.token_ids] = NEG_INF


class TimestampRules:
    """openai-whisper's ``ApplyTimestampRules``: timestamps come in pairs (except right before
    end-of-text), never decrease, a segment has a non-zero length, the first token is a
    timestamp no later than ``max_initial_index`` steps, and when the timestamps together are
    more likely than the best text token, a timestamp it is."""

    def __init__(self, timestamp_begin: int, eot: int, no_timestamps: int, max_initial: int):
        self.begin = timestamp_begin
        self.eot = eot
        self.no_timestamps = no_timestamps
        self.max_initial = max_initial

    def apply(self, logits: torch.Tensor, sampled: list[int]) -> None:
        begin = self.begin
        logits[:, self.no_timestamps] = NEG_INF
        lengths = row_prefix_lengths(sampled, logits.shape[0])
        # Walk the prefix once: the state after each row's prefix.
        last_ts = penultimate_ts = False
        last_stamp = -1  # last timestamp token so far (they never decrease)
        position = 0

        def advance(token: int) -> None:
            nonlocal last_ts, penultimate_ts, last_stamp
            penultimate_ts = last_ts
            last_ts = token >= begin
            if last_ts:
                last_stamp = token

        for row, length in enumerate(lengths):
            while position < length:
                advance(sampled[position])
                position += 1
            # "penultimate was a timestamp" is also true of a one-token prefix (as upstream).
            penultimate = penultimate_ts or length < 2
            if last_ts and length >= 1:
                if penultimate:
                    logits[row, begin:] = NEG_INF  # a pair just closed: text or end next
                else:
                    logits[row, : self.eot] = NEG_INF  # a segment just ended: no text
            if last_stamp >= 0:
                # Non-decreasing, and a segment may not end where it started.
                lowest = last_stamp if (last_ts and not penultimate) else last_stamp + 1
                logits[row, begin:lowest] = NEG_INF
            if length == 0:
                logits[row, :begin] = NEG_INF
                logits[row, begin + self.max_initial + 1 :] = NEG_INF
        # Upstream compares log-probabilities: logsumexp of the timestamps' against the best
        # text token's. Both sides carry the same log-normaliser, so comparing the raw logits
        # decides the same without a log-softmax over the whole vocabulary (~75 us a row
        # here, once per draft step and per verification).
        timestamp_mass = logits[:, begin:].logsumexp(dim=-1)
        best_text = logits[:, :begin].amax(dim=-1)  # amax: ~10x faster than max(dim)
        for row in torch.nonzero(timestamp_mass > best_text).flatten().tolist():
            logits[row, :begin] = NEG_INF


class LogitFilters:
    """The filters of one model and one set of options, applied in order."""

    def __init__(self, filters: list[LogitFilter]) -> None:
        self.filters = filters

    def apply(self, logits: torch.Tensor, sampled: list[int]) -> torch.Tensor:
        """Masked float32 copy of (n, vocab) ``logits`` (see the module docstring)."""
        return self.mask(logits.float().clone(), sampled)

    def mask(self, logits: torch.Tensor, sampled: list[int]) -> torch.Tensor:
        """``apply`` in place, for a caller that owns ``logits`` and needs only the masked
        ones (the hot paths: a copy costs half a millisecond per verification). Returns them,
        as float32 (a copy only when they were not float32)."""
        masked = logits if logits.dtype == torch.float32 else logits.float()
        # Decoders return inference tensors, which PyTorch lets one change in place only in
        # inference mode (a caller stepping a draft by hand, as the notebook does, is not).
        with torch.inference_mode():
            for logit_filter in self.filters:
                logit_filter.apply(masked, sampled)
        return masked

    def argmax(self, logits: torch.Tensor, sampled: list[int]) -> list[int]:
        """Greedy choice of each row."""
        return argmax_rows(self.apply(logits, sampled))


# The token choice runs once per draft step and per verification, on rows of 51,865 logits.
# PyTorch's argmax over such a row costs ~90 us on this CPU, NumPy's ~4 (a view, no copy);
# both return the first maximum, NaN counting as the largest.


def argmax_rows(logits: torch.Tensor) -> list[int]:
    """``logits.argmax(dim=-1).tolist()`` for CPU float (n, vocab) logits, faster."""
    return logits.numpy().argmax(axis=-1).tolist()


def top_margins(logits: torch.Tensor, choices: list[int]) -> list[float]:
    """Per row, the best logit minus the second best (``topk(2)``'s gap; 0 for a tie), given
    each row's ``argmax_rows`` choice. The rows are left as they were."""
    values = logits.numpy()
    margins = []
    for row, choice in enumerate(choices):
        best = float(values[row, choice])
        values[row, choice] = -np.inf
        margins.append(best - float(values[row].max()))
        values[row, choice] = best
    return margins


def timestamp_begin(bundle: WhisperBundle) -> int:
    """Id of <|0.00|>: every token from it on is a timestamp."""
    return bundle.special.no_timestamps + 1


def build_filters(bundle: WhisperBundle, options: TranscribeOptions) -> LogitFilters:
    """The filters ``bundle`` decodes with under ``options``."""
    generation = bundle.generation_config
    vocab = bundle.model.config.vocab_size
    special = bundle.special
    filters: list[LogitFilter] = [
        SuppressBlank(list(generation.begin_suppress_tokens or [])),
        SuppressTokens(list(generation.suppress_tokens or []), vocab),
    ]
    if not options.without_timestamps:
        max_initial = round(options.max_initial_timestamp / TIME_PRECISION)
        filters.append(
            TimestampRules(timestamp_begin(bundle), special.eot, special.no_timestamps, max_initial)
        )
    return LogitFilters(filters)
