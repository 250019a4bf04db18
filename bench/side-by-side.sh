#!/usr/bin/env bash
# side-by-side.sh "SIM ARGS" BIN_A BIN_B [RUNS]: runs `BIN sim SIM ARGS --json` for two builds,
# interleaved (A, B, A, B, ...), RUNS times each (default 1), two at a time, and prints each
# run's wall time, peak RSS, trace hash and false suspicions. Used for BENCHMARKS.md's P10 and
# membership-at-scale tables, e.g.
#   bench/side-by-side.sh "--nodes 1000 --seed 1" base/herald target/release/herald
set -euo pipefail
args=$1; a=$2; b=$3; runs=${4:-1}
out=$(mktemp -d)
for run in $(seq 1 "$runs"); do
  for bin in "$a" "$b"; do
    name=$(basename "$(dirname "$bin")")-$(basename "$bin")-$run
    # shellcheck disable=SC2086
    ( /usr/bin/time -f "%e %M" "$bin" sim $args --json > "$out/$name.json" 2> "$out/$name.time" ) &
  done
  wait
  for bin in "$a" "$b"; do
    name=$(basename "$(dirname "$bin")")-$(basename "$bin")-$run
    read -r wall rss < <(tail -1 "$out/$name.time")
    trace=$(grep -o '"trace_hash": "[^"]*"' "$out/$name.json" | cut -d'"' -f4 | cut -c1-16)
    false=$(grep -o '"false_suspicions": [0-9]*' "$out/$name.json" | grep -o '[0-9]*$')
    echo "$bin run $run: wall ${wall} s, peak RSS ${rss} KB, trace ${trace}, false suspicions ${false}"
  done
done
rm -rf "$out"
