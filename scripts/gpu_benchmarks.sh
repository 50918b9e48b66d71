#!/usr/bin/env bash
# The speculative, peers and longform benchmarks on a lent GPU machine (bench/results/gpu-*).
#
# That machine has PyTorch with CUDA but no network and none of our weights: first carry the
# pieces that `python scripts/device_payload.py pack` writes (.w1/ ... .wN/), one per call,
# copying each to $PIECES as pieceK; the last call runs this script. Results land in
# $OUT/results (one folder per mode, as on the CPU), packed into $OUT/gpu-results.tar.gz after
# each mode so that a run cut short still returns what it finished.
set -u
OUT=${OUT:-/tmp/gpu-out}
PIECES=${PIECES:-/tmp/pieces}
WORK=${WORK:-/tmp/specwhisper-gpu}
RESULTS=$OUT/results
mkdir -p "$RESULTS"

python3 scripts/device_payload.py unpack "$PIECES" "$WORK" || exit 1
export PYTHONPATH=$WORK/site:$PWD/src PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1
export SPECWHISPER_CACHE=$WORK/cache
python3 scripts/device_payload.py convert "$WORK/payload" || exit 1
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv
python3 -c "import torch, transformers; print('torch', torch.__version__, 'transformers', \
transformers.__version__, torch.cuda.get_device_name(), 'cpu threads', torch.get_num_threads())"

run() {  # run MODE NAME ARGS...: one benchmark, its log, and everything so far packed
    local mode=$1 name=$2
    shift 2
    python3 main.py benchmark --mode "$mode" --device cuda --no-memory --no-progress \
        --output "$RESULTS/$name" "$@" 2>&1 | tee "$OUT/$name.log"
    tar -czf "$OUT/gpu-results.tar.gz" -C "$RESULTS" .
}

cli_checks() {  # the CLI's other paths on the GPU, each with and without a draft (no
    # --language: every run detects it on the first window, as by default)
    local file=tests/data/long/long_001.flac name flags
    mkdir -p "$RESULTS/gpu-cli"
    while read -r name flags; do
        for draft in none ngram; do
            # shellcheck disable=SC2086
            python3 main.py transcribe "$file" --device cuda --model base --draft $draft \
                --output-format json --no-progress $flags </dev/null \
                >"$RESULTS/gpu-cli/$name-$draft.json" \
                2>>"$OUT/gpu-cli.log" || echo "FAILED: $name $draft" | tee -a "$OUT/gpu-cli.log"
        done
    done <<'CHECKS'
greedy --temperature 0
words --temperature 0 --word-timestamps
beam --beam-size 3
sampled --temperature 0.6 --seed 3
fallback --seed 3
vad --vad --temperature 0
CHECKS
    python3 - "$RESULTS/gpu-cli" <<'PY' | tee "$RESULTS/gpu-cli/summary.txt"
import json, sys
from pathlib import Path
for plain in sorted(Path(sys.argv[1]).glob("*-none.json")):
    name = plain.name.removesuffix("-none.json")
    try:
        a = json.loads(plain.read_text())
        b = json.loads((plain.parent / f"{name}-ngram.json").read_text())
    except (OSError, ValueError) as error:
        print(f"{name}: FAILED ({error})")
        continue
    same = a["tokens"] == b["tokens"] and [s["start"] for s in a["segments"]] == [
        s["start"] for s in b["segments"]]
    words = sum(len(s.get("words") or []) for s in a["segments"])
    # Sampling draws differently with and without a draft (same distribution, other draws).
    expected = "" if name in ("sampled", "fallback") else " (must be True)"
    print(f"{name}: {len(a['segments'])} segments, {len(a['tokens'])} tokens, {words} words, "
          f"language {a['language']}, none vs ngram identical: {same}{expected}")
PY
    tar -czf "$OUT/gpu-results.tar.gz" -C "$RESULTS" .
}

# The same line-ups and clips as the CPU runs in bench/results (configurations that need the
# CPU, int8 and faster-whisper, are skipped with a note). Arguments pick the modes; batch needs
# only base (pack --models base) plus the silero-vad wheel in .whl/.
modes=${*:-speculative longform peers}
for mode in $modes; do
    case $mode in
    speculative) run speculative gpu-speculative-devset --model base \
        --draft self-int8 tiny.en ngram base --repeats 1 ;;
    longform) run longform gpu-longform-longdev \
        --draft self-int8 tiny.en ngram ngram+self-int8 --repeats 1 ;;
    peers) run peers gpu-peers-8clips --samples 8 --repeats 3 ;;
    batch) run batch gpu-batch-devset --batch-sizes 1,2,4,8,16 ;;
    cli) cli_checks ;;
    *) echo "unknown mode $mode" >&2 ;;
    esac
done
