"""The float32 output layer (base: 51865 x 512, 106 MB) for the row counts of decoder steps,
verifications and batches, with the caches cold as they are in a real step: the plain matrix
products against the oneDNN-packed copy that ``kv_decoder.project_to_vocab`` uses.

    python scripts/output_layer_bench.py [--threads 2] > bench/results/output-layer/results.md
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F

from specwhisper.decoding.kv_decoder import packed_output_layer

VOCAB, WIDTH = 51865, 512
ROWS = (1, 2, 5, 8, 9, 16, 32, 72)
# Written between two timed calls so that the matrix is no longer cached, as after the rest of
# a decoder step (larger than this machine's last-level cache share).
FLUSH_MB = 512


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=11)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    weight = torch.randn(VOCAB, WIDTH)
    packed = packed_output_layer(weight)
    flush = torch.ones(FLUSH_MB * 2**20 // 4)

    def cold_ms(call) -> float:
        times = []
        for _ in range(args.repeats):
            flush.add_(1.0)
            began = time.perf_counter()
            call()
            times.append(time.perf_counter() - began)
        return statistics.median(times) * 1e3

    print("# The float32 output layer, cold caches (median ms per call)\n")
    print(f"`python scripts/output_layer_bench.py --threads {args.threads}`; {VOCAB} x {WIDTH}\n")
    print(
        "| rows | `F.linear` | `W @ h.T` (before; one row as two) | oneDNN packed "
        "| packed vs before |"
    )
    print("|---|---|---|---|---|")
    with torch.inference_mode():
        for rows in ROWS:
            hidden = torch.randn(rows, WIDTH)
            linear = cold_ms(lambda hidden=hidden: F.linear(hidden, weight))
            # The previous project_to_vocab: one row was repeated to two, because the
            # one-column product fell back to a slow kernel in warm-cache measurements.
            columns = hidden.repeat(2, 1) if rows == 1 else hidden
            product = cold_ms(lambda columns=columns: weight @ columns.T)
            fast = cold_ms(
                lambda hidden=hidden: torch.ops.mkldnn._linear_pointwise(
                    hidden, packed, None, "none", [], ""
                )
            )
            print(f"| {rows} | {linear:.1f} | {product:.1f} | {fast:.1f} | {product / fast:.2f}x |")


if __name__ == "__main__":
    main()
