"""A lean Whisper decoder: the same layers as transformers' decoder, fewer steps around them,
over one row (one window) or several at once.

A decoder step of ``base`` spends as much time in bookkeeping as in arithmetic when it goes
through transformers' modules: cache objects growing by concatenation, attention-mask
construction, output records, one call per projection. Here the self-attention keys/values live
in buffers allocated once per window (rolling back is setting a length), the query, key and
value projections are one matrix product (``fuse_qkv``), and each layer is a handful of calls
on the model's own weights. Both the main model (verification and plain decoding) and the
drafts run on it; its logits equal transformers' to within 1e-5 (tested).

Several rows: each row is its own window with its own cache length and cross-attention
keys/values; a call feeds each row its own tokens (padded to the longest, the padding masked
out) and one output projection serves every row. Rows leave with ``keep`` and join with
``add_row`` (continuous batching: a finished window's place goes to the next one at once).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .. import kernels
from ..models.devices import module_device, on_cpu
from ..models.weight_int8 import WeightOnlyInt8Linear
from . import native_step
from .kv_decoder import CrossKV, cross_key_values, project_to_vocab

# Cache slots past the decoder's last position: a padded row may write a few keys/values there
# (never read: a row's length only grows by its real tokens).
_SPARE_SLOTS = 32


def fill_places(rows: list, leaving) -> list[int]:
    """The places to ``LeanDecoder.keep`` when the rows named in ``leaving`` finish (``rows``:
    the name of each place): every staying row keeps its place, and the last rows fill the
    places left free (rows move, their order changes, and each moved row is one copy, however
    large the batch)."""
    gone = {place for place, row in enumerate(rows) if row in leaving}
    kept = len(rows) - len(gone)
    tail = [place for place in range(kept, len(rows)) if place not in gone]
    return [place if place not in gone else tail.pop() for place in range(kept)]


def fuse_qkv(attention: nn.Module) -> nn.Module:
    """One ``Linear(d, 3d)`` for an attention's query, key and value projections.

    For a float module the fused weight is one tensor and the separate projections become views
    of it, so nothing is stored twice. Quantized copies are fused before quantization (see
    ``self_int8.quantized_copy``). The key projection has no bias: a zero bias stands in.
    """
    fused = getattr(attention, "lean_qkv", None)
    if fused is not None:
        return fused
    q, k, v = attention.q_proj, attention.k_proj, attention.v_proj
    d_in, d_out = q.in_features, q.out_features
    weight = torch.cat([q.weight.data, k.weight.data, v.weight.data])
    zeros = torch.zeros(d_out, device=weight.device)
    bias = torch.cat(
        [
            q.bias.data if q.bias is not None else zeros,
            k.bias.data if k.bias is not None else zeros,
            v.bias.data if v.bias is not None else zeros,
        ]
    )
    fused = nn.Linear(d_in, 3 * d_out, device=weight.device)
    fused.weight = nn.Parameter(weight, requires_grad=False)
    fused.bias = nn.Parameter(bias, requires_grad=False)
    for index, projection in enumerate((q, k, v)):
        projection.weight = nn.Parameter(weight[index * d_out : (index + 1) * d_out], False)
    attention.lean_qkv = fused
    return fused


def fuse_decoder(decoder: nn.Module) -> None:
    """Fuse every self-attention of ``decoder`` (idempotent)."""
    for layer in decoder.layers:
        fuse_qkv(layer.self_attn)


def direct_call(linear: nn.Module) -> Callable[[torch.Tensor], torch.Tensor]:
    """``linear``'s forward without the module machinery around it.

    A draft step of ``base`` makes some 40 linear calls on one token each, and going through
    ``nn.Module.__call__`` (hooks, attribute lookups) costs about as much as a small int8
    product itself. Plain and dynamically quantized int8 linears call their kernel directly,
    weight-only int8 ones their forward; anything else (e.g. ``models.int8``'s row-wise
    layers) keeps its own forward.
    """
    if type(linear) is nn.Linear:
        weight, bias = linear.weight, linear.bias
        return lambda x: F.linear(x, weight, bias)
    packed = getattr(getattr(linear, "_packed_params", None), "_packed_params", None)
    if (
        isinstance(linear, torch.ao.nn.quantized.dynamic.Linear)
        and linear._packed_params.dtype == torch.qint8
        and (linear.version or 0) >= 4
        and packed is not None
    ):
        # The overload itself: the packet's __call__ spends ~15 us per call in Python checks.
        kernel = torch.ops.quantized.linear_dynamic.default
        return lambda x: kernel(x, packed, True)  # reduce_range, as the module's forward
    if type(linear) is WeightOnlyInt8Linear:
        return linear.forward
    return linear


def _norm(layer_norm: nn.LayerNorm) -> Callable[[torch.Tensor], torch.Tensor]:
    shape, weight, bias, eps = (
        layer_norm.normalized_shape,
        layer_norm.weight,
        layer_norm.bias,
        layer_norm.eps,
    )
    return lambda x: F.layer_norm(x, shape, weight, bias, eps)


def _output_projection(output_layer: nn.Module) -> Callable[[torch.Tensor], torch.Tensor]:
    """(n, d) hidden states -> (n, vocab) CPU logits: a float layer through
    ``project_to_vocab`` (its packed copy), anything else (a dynamically quantized linear, CPU
    only) directly."""
    if isinstance(output_layer, nn.Linear) and isinstance(output_layer.weight, torch.Tensor):
        weight = output_layer.weight
        return lambda hidden: on_cpu(project_to_vocab(weight, hidden))
    return direct_call(output_layer)


@dataclass(frozen=True)
class _LayerCalls:
    """One decoder layer's operations, looked up once (see ``direct_call``)."""

    self_norm: Callable
    qkv: Callable
    self_out: Callable
    cross_norm: Callable
    cross_query: Callable
    cross_out: Callable
    final_norm: Callable
    fc1: Callable
    fc2: Callable
    activation: Callable

    @classmethod
    def of(cls, layer: nn.Module) -> _LayerCalls:
        return cls(
            self_norm=_norm(layer.self_attn_layer_norm),
            qkv=direct_call(layer.self_attn.lean_qkv),
            self_out=direct_call(layer.self_attn.out_proj),
            cross_norm=_norm(layer.encoder_attn_layer_norm),
            cross_query=direct_call(layer.encoder_attn.q_proj),
            cross_out=direct_call(layer.encoder_attn.out_proj),
            final_norm=_norm(layer.final_layer_norm),
            fc1=direct_call(layer.fc1),
            fc2=direct_call(layer.fc2),
            activation=layer.activation_fn,
        )


class LeanDecoder:
    """A decoder over ``len(cross_kvs)`` rows. One row: ``forward(tokens, rows)``,
    ``crop(length)``, ``length``, as ``CachedDecoder``; several: ``forward_rows``,
    ``crop_row``, ``lengths``, ``keep``.

    ``model`` is a Whisper or any module with ``.model.decoder`` and ``.proj_out`` (an int8
    copy, say). A row's cross-attention keys/values may come from another model with the same
    decoder shape, e.g. the fp32 main model's own for its int8 self-draft. ``cross_dtype``
    bfloat16 halves the cross-attention's memory traffic, ``cache_dtype`` bfloat16 the
    self-attention's (its keys/values of every position so far): for drafts only, whose numbers
    need not be the main model's.
    """

    def __init__(
        self,
        model: nn.Module,
        encoder_out: torch.Tensor | None = None,
        cross_kv: CrossKV | None = None,
        cross_dtype: torch.dtype = torch.float32,
        cross_kvs: list[CrossKV] | None = None,
        cache_dtype: torch.dtype = torch.float32,
    ) -> None:
        if cross_kvs is None:
            if cross_kv is None:
                if encoder_out is None:
                    raise ValueError("LeanDecoder needs encoder_out, cross_kv or cross_kvs")
                cross_kv = cross_key_values(model, encoder_out)
            cross_kvs = [cross_kv]
        self.model = model
        self.decoder = model.model.decoder
        self.device = module_device(self.decoder)
        fuse_decoder(self.decoder)
        self.calls = [_LayerCalls.of(layer) for layer in self.decoder.layers]
        self.final_norm = _norm(self.decoder.layer_norm)
        self.embed_scale = getattr(self.decoder, "embed_scale", 1.0)
        # An int8 main model (models/int8.py) quantizes each row's activations: a rounding
        # difference of 1e-7 upstream can move an int8 value, so its attention must give a row
        # bit for bit what it gives that row decoded alone. Float models skip this (cost).
        self.row_invariant = bool(getattr(model, "row_invariant", False))
        if self.row_invariant and cache_dtype != torch.float32:
            raise ValueError("a row-invariant (int8 main) model keeps a float32 cache")
        # Where the native kernels run, such a model's attention is theirs, every token alone
        # in one call (``kernels.attend``), for plain decoding and verification alike: each
        # token-head in one fixed order, without PyTorch's call per row and token below.
        self.attends_alone = (
            self.row_invariant and self.device.type == "cpu" and kernels.available()
        )
        self.output_layer = model.proj_out
        self._project = _output_projection(self.output_layer)
        self.cross_dtype = cross_dtype
        self.cache_dtype = cache_dtype
        layers = range(len(self.decoder.layers))

        def stacked(layer: int, part: int) -> torch.Tensor:
            tensors = [kv[layer][part] for kv in cross_kvs]
            joined = tensors[0] if len(tensors) == 1 else torch.cat(tensors)  # no copy for one
            return joined.to(cross_dtype)

        attention = self.decoder.layers[0].self_attn
        self.heads, self.head_dim = attention.num_heads, attention.head_dim
        self.scaling = attention.scaling
        self.width = self.heads * self.head_dim
        self.max_positions = self.decoder.embed_positions.weight.shape[0]
        self.lengths = [0] * len(cross_kvs)
        # The one-token step in one native call where the weights allow (``native_step``):
        # built on the first such step, dropped when the buffers it points into are replaced.
        self._native: native_step.NativeStep | None = None
        self._native_checked = False
        # Rows that the buffers below hold room for, when they are the decoder's own (0: they
        # are not, e.g. one row's keys/values shared with its caller); see ``reserve``.
        self._capacity = 0
        self._wanted_capacity = 0
        if not cross_kvs:  # no rows yet: ``add_row`` brings them
            self.cross_kv, self.keys, self.values = [], [], []
            return
        self.cross_kv = [(stacked(i, 0), stacked(i, 1)) for i in layers]
        shape = (len(cross_kvs), self.heads, self.max_positions + _SPARE_SLOTS, self.head_dim)
        # Per layer: self-attention keys and values of every position fed so far, per row.
        # Zeros, not empty: with several rows, attention reads (masked) slots past a shorter
        # row's end, and a masked weight times a NaN left in fresh memory is still NaN.
        self.keys = [torch.zeros(shape, dtype=cache_dtype, device=self.device) for _ in layers]
        self.values = [torch.zeros(shape, dtype=cache_dtype, device=self.device) for _ in layers]

    # --- one row ---------------------------------------------------------------------------

    @property
    def length(self) -> int:
        return self.lengths[0]

    def forward(self, tokens: list[int], rows: list[int] | None = None) -> torch.Tensor:
        """Append ``tokens`` to the only row; return the (len(rows), vocab) logits of
        positions ``rows`` (indices into ``tokens``; default all)."""
        return self.forward_rows([tokens], [rows if rows is not None else range(len(tokens))])[0]

    def crop(self, length: int) -> None:
        """Forget every cached token from position ``length`` on (the buffers stay)."""
        self.crop_row(0, length)

    # --- several rows ----------------------------------------------------------------------

    def crop_row(self, row: int, length: int) -> None:
        self.lengths[row] = min(self.lengths[row], length)

    def reserve(self, rows: int) -> None:
        """Room for ``rows`` rows in buffers of the decoder's own, so that rows join and leave
        without moving the others (``add_row`` grows the room by doubling when it must)."""
        if self._capacity >= rows:
            return
        if not self.cross_kv:  # the buffers' shapes come with the first row
            self._wanted_capacity = max(self._wanted_capacity, rows)
            return
        self._allocate(rows, tuple(self.cross_kv[0][0].shape[1:]))

    def _allocate(self, rows: int, cross_shape: tuple[int, ...]) -> None:
        """Buffers for ``rows`` rows (cross-attention keys/values of ``cross_shape`` each),
        holding the rows there are."""
        count = len(self.lengths)

        def buffer(shape, dtype: torch.dtype, old: torch.Tensor | None, zeros: bool):
            made = (torch.zeros if zeros else torch.empty)(shape, dtype=dtype, device=self.device)
            if count:
                made[:count] = old
            return made

        cache_shape = (rows, self.heads, self.max_positions + _SPARE_SLOTS, self.head_dim)
        layers = range(len(self.decoder.layers))
        old_cross = self.cross_kv if count else [(None, None) for _ in layers]
        old_keys = self.keys if count else [None for _ in layers]
        old_values = self.values if count else [None for _ in layers]
        cross = (rows, *cross_shape)
        self._cross_store = [
            (
                buffer(cross, self.cross_dtype, keys, zeros=False),
                buffer(cross, self.cross_dtype, values, zeros=False),
            )
            for keys, values in old_cross
        ]
        # Zeros for the caches: attention reads (masked) slots past a shorter row's end, and
        # a masked weight times a NaN left in fresh memory is still NaN.
        self._keys_store = [buffer(cache_shape, self.cache_dtype, k, True) for k in old_keys]
        self._values_store = [buffer(cache_shape, self.cache_dtype, v, True) for v in old_values]
        self._capacity = rows
        self._show(count)

    def _show(self, rows: int) -> None:
        """The public per-layer tensors: the first ``rows`` rows of the buffers (views, which
        stay contiguous, as the native step needs)."""
        self.cross_kv = [(keys[:rows], values[:rows]) for keys, values in self._cross_store]
        self.keys = [keys[:rows] for keys in self._keys_store]
        self.values = [values[:rows] for values in self._values_store]
        self._forget_native()

    def add_row(self, cross_kv: CrossKV, prefix: list[int]) -> torch.Tensor | None:
        """A new last row: a window with these cross-attention keys/values, its cache holding
        ``prefix`` (may be empty). The prefix is fed as a row of its own, so that a long prompt
        never pads the other rows' steps. Returns the logits after the prefix's last token
        (None for an empty prefix).

        The row goes into a free place of the buffers, and no other row moves: a batch of 8
        on ``base`` holds ~400 MB of keys/values, and copying all of it at every join and
        leave cost more than the batching saved."""
        count = len(self.lengths)
        if self._capacity <= count:
            wanted = max(self._wanted_capacity, 2 * count, count + 1)
            self._allocate(wanted, tuple(cross_kv[0][0].shape[1:]))
        for (keys_at, values_at), (keys, values) in zip(self._cross_store, cross_kv, strict=True):
            keys_at[count].copy_(keys[0])  # converted to this decoder's dtype on the way
            values_at[count].copy_(values[0])
        self.lengths.append(0)
        self._show(count + 1)
        if not prefix:
            return None
        # A one-row decoder over this row's place in the buffers feeds the prefix there.
        row = LeanDecoder(
            self.model, cross_kvs=[], cross_dtype=self.cross_dtype, cache_dtype=self.cache_dtype
        )
        row.cross_kv = [
            (keys[count : count + 1], values[count : count + 1]) for keys, values in self.cross_kv
        ]
        row.keys = [keys[count : count + 1] for keys in self.keys]
        row.values = [values[count : count + 1] for values in self.values]
        row.lengths = [0]
        logits = row.forward(prefix, [len(prefix) - 1])[0]
        self.lengths[count] = row.length
        return logits

    def _move(self, row: int, place: int) -> None:
        """Row ``row``'s keys/values (its cache up to its length) into ``place``."""
        for keys, values in self._cross_store:
            keys[place] = keys[row]
            values[place] = values[row]
        length = self.lengths[row]
        for store in self._keys_store + self._values_store:
            store[place, :, :length] = store[row, :, :length]

    def keep(self, rows: list[int]) -> None:
        """Keep only ``rows`` (in this order), e.g. when the others finished their window.
        ``fill_places`` gives the order that moves fewest rows."""
        if rows == list(range(len(self.lengths))):
            return  # nobody left: nothing to move
        if not rows and self._capacity:  # the buffers stay for the rows that come next
            self.lengths = []
            self._show(0)
            return
        if not rows:
            self.cross_kv, self.keys, self.values, self.lengths = [], [], [], []
            self._forget_native()
            return
        kept = len(rows)
        moves = [(place, row) for place, row in enumerate(rows) if place != row]
        if self._capacity and all(row >= kept for _, row in moves):
            # Rows past the kept count move into the places that finished: nothing they
            # overwrite is still to be read.
            for place, row in moves:
                self._move(row, place)
            self.lengths = [self.lengths[row] for row in rows]
            self._show(kept)
            return
        index = torch.tensor(rows, dtype=torch.long, device=self.device)
        self.keys = [keys[index] for keys in self.keys]
        self.values = [values[index] for values in self.values]
        self.cross_kv = [(k[index], v[index]) for k, v in self.cross_kv]
        self.lengths = [self.lengths[row] for row in rows]
        self._capacity = 0  # fresh tensors of exactly these rows, not buffers with room
        self._forget_native()

    def _forget_native(self) -> None:
        self._native, self._native_checked = None, False

    def _native_step(self) -> native_step.NativeStep | None:
        if not self._native_checked:
            self._native_checked = True
            if self.lengths:
                self._native = native_step.table_for(
                    self.decoder, self.keys, self.values, self.cross_kv
                )
        return self._native

    def _native_feed(self, step: native_step.NativeStep, feeds, wanted) -> list[torch.Tensor]:
        """``forward_rows`` through the native step: every fed token is one row of its call."""
        slots, positions, tokens, picked = [], [], [], []
        for row, (start, feed, rows) in enumerate(zip(self.lengths, feeds, wanted, strict=True)):
            picked += [len(tokens) + index for index in rows]
            slots += [row] * len(feed)
            positions += range(start, start + len(feed))
            tokens += feed
        hidden = self.decoder.embed_tokens.weight[tokens] * self.embed_scale
        hidden = (hidden + self.decoder.embed_positions.weight[positions]).contiguous()
        step(hidden, slots, positions)
        self.lengths = [start + len(feed) for start, feed in zip(self.lengths, feeds, strict=True)]
        logits = self._project(self.final_norm(hidden[picked]))
        return list(torch.split(logits, [len(rows) for rows in wanted]))

    def _heads(self, states: torch.Tensor) -> torch.Tensor:
        """(B, n, heads * head_dim) -> (B, heads, n, head_dim)."""
        return states.view(states.shape[0], -1, self.heads, self.head_dim).transpose(1, 2)

    @torch.inference_mode()
    def forward_rows(self, feeds: list[list[int]], wanted: list) -> list[torch.Tensor]:
        """Append ``feeds[b]`` (at least one token) to row ``b``; return, per row, the logits
        of the positions ``wanted[b]`` (indices into ``feeds[b]``)."""
        rows, longest = len(feeds), max(len(feed) for feed in feeds)
        starts = list(self.lengths)
        device = self.device
        for start, feed in zip(starts, feeds, strict=True):
            if start + len(feed) > self.max_positions:
                raise ValueError(
                    f"the decoder has {self.max_positions} positions, not {start + len(feed)}"
                )
        # A few tokens in all (draft steps): one native call, whose int8 linears read each weight
        # once for all of them. Longer feeds (prompts) are matrix products: PyTorch's.
        if sum(len(feed) for feed in feeds) <= native_step.MAX_TOKENS:
            step = self._native_step()
            if step is not None:
                return self._native_feed(step, feeds, wanted)
        if rows == 1:
            single = len(feeds[0]) == 1
            ids = torch.tensor([feeds[0]], dtype=torch.long, device=device)
            positions = self.decoder.embed_positions.weight[starts[0] : starts[0] + longest]
            positions = positions.unsqueeze(0)
            mask = None
            # Token i sees every cached position and the new ones up to itself (PyTorch's
            # batched attention only: a row-invariant model attends token by token).
            if not single and not self.row_invariant:
                end = starts[0] + longest
                mask = torch.ones(longest, end, dtype=torch.bool, device=device)
                mask = mask.tril(diagonal=starts[0])
        else:
            padded = [feed + [feed[-1]] * (longest - len(feed)) for feed in feeds]
            ids = torch.tensor(padded, dtype=torch.long, device=device)
            first = torch.tensor(starts, device=device)
            steps = torch.arange(longest, device=device)
            index = first[:, None] + steps[None, :]
            index = index.clamp(max=self.max_positions - 1)  # padding only
            positions = self.decoder.embed_positions.weight[index]
            mask = None
            if not self.row_invariant:
                end = max(starts) + longest
                # Row b's token i sees the positions up to start_b + i (padding never seen).
                keys_at = torch.arange(end, device=device)[None, None, :]
                limit = first[:, None, None] + steps[None, :, None]
                mask = (keys_at <= limit).unsqueeze(1)  # (B, 1, n, end)
        embedded = self.decoder.embed_tokens.weight[ids] * self.embed_scale
        hidden = embedded + positions  # (B, n, d)
        width = self.width
        alone = None
        if self.attends_alone:  # every fed token (padding too): its row, its position
            slots = [row for row in range(rows) for _ in range(longest)]
            places = [start + step for start in starts for step in range(longest)]
            alone = (slots, places)
        for index_layer, calls in enumerate(self.calls):
            qkv = calls.qkv(calls.self_norm(hidden))
            keys, values = self.keys[index_layer], self.values[index_layer]
            new_keys = self._heads(qkv[..., width : 2 * width])
            new_values = self._heads(qkv[..., 2 * width :])
            if rows == 1:
                keys[:, :, starts[0] : starts[0] + longest] = new_keys
                values[:, :, starts[0] : starts[0] + longest] = new_values
            else:
                for row, start in enumerate(starts):
                    keys[row, :, start : start + longest] = new_keys[row]
                    values[row, :, start : start + longest] = new_values[row]
            query = self._heads(qkv[..., :width] * self.scaling)
            mixed = self._self_attention(query, keys, values, starts, feeds, mask, alone)
            hidden = hidden + calls.self_out(mixed.transpose(1, 2).reshape(hidden.shape))

            query = self._heads(calls.cross_query(calls.cross_norm(hidden)) * self.scaling)
            mixed = self._cross_attention(query, *self.cross_kv[index_layer], alone)
            hidden = hidden + calls.cross_out(mixed.transpose(1, 2).reshape(hidden.shape))

            hidden = hidden + calls.fc2(calls.activation(calls.fc1(calls.final_norm(hidden))))
        self.lengths = [start + len(feed) for start, feed in zip(starts, feeds, strict=True)]
        picked = [hidden[b, list(wanted[b])] for b in range(rows)]
        counts = [len(p) for p in picked]
        logits = self._project(self.final_norm(torch.cat(picked)))
        return list(torch.split(logits, counts))

    def _alone(self, query, keys, values, slots, positions) -> torch.Tensor:
        """(B, heads, n, head_dim) attention through ``kernels.attend``: every token alone."""
        batch, heads, tokens, head_dim = query.shape
        flat = query.transpose(1, 2).reshape(-1, self.width)  # a view: the query's own layout
        mixed = kernels.attend(flat, keys, values, slots, positions)
        return mixed.view(batch, tokens, heads, head_dim).transpose(1, 2)

    def _cross_attention(self, query, cross_keys, cross_values, alone) -> torch.Tensor:
        """(B, heads, n, head_dim): each row's new tokens over its own window's frames.
        ``alone``: as for ``_self_attention``."""
        rows, longest = query.shape[0], query.shape[2]
        if alone is not None:
            return self._alone(query, cross_keys, cross_values, alone[0], None)
        dtype = query.dtype  # the result's: a draft's bfloat16 keys/values are read in bfloat16
        query = query.to(self.cross_dtype)
        if self.row_invariant and (rows > 1 or longest > 1):
            mixed = torch.cat(
                [
                    torch.cat(
                        [
                            F.scaled_dot_product_attention(
                                query[b : b + 1, :, i : i + 1],
                                cross_keys[b : b + 1],
                                cross_values[b : b + 1],
                                scale=1.0,
                            )
                            for i in range(longest)
                        ],
                        dim=2,
                    )
                    for b in range(rows)
                ]
            )
        else:
            mixed = F.scaled_dot_product_attention(query, cross_keys, cross_values, scale=1.0)
        return mixed.to(dtype)

    def _self_attention(self, query, keys, values, starts, feeds, mask, alone) -> torch.Tensor:
        """(B, heads, n, head_dim): each row's new tokens over its own cached positions.
        ``alone``: every fed token's row and position, for ``kernels.attend`` (else None)."""
        rows, longest = query.shape[0], query.shape[2]
        if alone is not None:
            return self._alone(query, keys, values, *alone)
        if self.row_invariant and (rows > 1 or longest > 1):
            # Row b's token i exactly as decoding it alone would compute it.
            return torch.cat(
                [
                    torch.cat(
                        [
                            F.scaled_dot_product_attention(
                                query[b : b + 1, :, i : i + 1],
                                keys[b : b + 1, :, : starts[b] + i + 1],
                                values[b : b + 1, :, : starts[b] + i + 1],
                                scale=1.0,
                            )
                            for i in range(longest)
                        ],
                        dim=2,
                    )
                    for b in range(rows)
                ]
            )
        end = max(starts) + longest
        return F.scaled_dot_product_attention(
            query.to(keys.dtype),  # a bfloat16 cache (drafts) attends in bfloat16
            keys[:, :, :end],
            values[:, :, :end],
            attn_mask=mask,
            scale=1.0,  # the query is already scaled, as in transformers
        ).to(query.dtype)
