#!/usr/bin/env bash
# Server throughput with and without server batching: the same load (16 clients x 4 dev files,
# base + auto draft, defaults otherwise) against SPECWHISPER_BATCH_SIZE=1 and =8, one after the
# other on this machine. Writes bench/results/load/batch-<B>.txt (the command, then the report).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
OUT=bench/results/load
mkdir -p "$OUT"
for B in 1 8; do
  PORT=$((8790 + B))
  SPECWHISPER_BATCH_SIZE=$B "$PY" main.py serve --host 127.0.0.1 --port "$PORT" > "$OUT/server-$B.log" 2>&1 &
  SERVER=$!
  for _ in $(seq 120); do
    curl -sf "http://127.0.0.1:$PORT/health" > /dev/null && break
    sleep 1
  done
  CMD="SPECWHISPER_BATCH_SIZE=$B python main.py serve --port $PORT; python scripts/load_test.py --url http://127.0.0.1:$PORT --clients 16 --files 4"
  { echo "\$ $CMD"; "$PY" scripts/load_test.py --url "http://127.0.0.1:$PORT" --clients 16 --files 4 || true; } > "$OUT/batch-$B.txt" 2>&1
  kill -TERM "$SERVER"; wait "$SERVER" || true
  rm -f "$OUT/server-$B.log"
  cat "$OUT/batch-$B.txt"
done
