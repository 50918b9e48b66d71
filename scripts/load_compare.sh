#!/usr/bin/env bash
# Server throughput with and without server batching: the same load (16 clients x 4 dev files,
# base + auto draft, defaults otherwise) against SPECWHISPER_BATCH_SIZE=1 and =8, one after the
# other on this machine, then one client alone against each (a lone request's latency). With
# BASELINE=<commit>, the server of that commit (e.g. the one before server batching, a87807c)
# runs the same first, from a temporary worktree on this checkout's virtual environment.
# Writes bench/results/load/<name>.txt (the commands, then the reports).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-$PWD/.venv/bin/python}
OUT=bench/results/load
mkdir -p "$OUT"

# run NAME PORT DIR CODE [ENV=VALUE...]: a server from DIR's code (CODE names it in the
# report), the load against it.
run() {
  local name=$1 port=$2 dir=$3 code=$4
  shift 4
  (cd "$dir" && exec env "$@" PYTHONPATH="$dir/src" "$PY" main.py serve --host 127.0.0.1 --port "$port") \
    > "$OUT/server-$name.log" 2>&1 &
  local server=$!
  for _ in $(seq 120); do
    curl -sf "http://127.0.0.1:$port/health" > /dev/null && break
    sleep 1
  done
  local cmd="$* python main.py serve --port $port (code: $code); python scripts/load_test.py --url http://127.0.0.1:$port --clients 16 --files 4"
  { echo "\$ $cmd"; "$PY" scripts/load_test.py --url "http://127.0.0.1:$port" --clients 16 --files 4 || true; } > "$OUT/$name.txt" 2>&1
  # Then a lone client on the same (warm) server: one request at a time, each decoded alone.
  { echo; echo "\$ python scripts/load_test.py --url http://127.0.0.1:$port --clients 1 --files 8"
    "$PY" scripts/load_test.py --url "http://127.0.0.1:$port" --clients 1 --files 8 || true; } >> "$OUT/$name.txt" 2>&1
  kill -TERM "$server" || true
  wait "$server" || true
  rm -f "$OUT/server-$name.log"
  cat "$OUT/$name.txt"
}

if [ -n "${BASELINE:-}" ]; then
  TREE=$(mktemp -d)/baseline
  git worktree add --detach "$TREE" "$BASELINE" > /dev/null
  trap 'git worktree remove --force "$TREE"' EXIT
  run "baseline-$BASELINE" 8790 "$TREE" "$BASELINE"
fi
for B in 1 8; do
  run "batch-$B" $((8790 + B)) "$PWD" "$(git rev-parse --short HEAD)" SPECWHISPER_BATCH_SIZE=$B
done
