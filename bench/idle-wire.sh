#!/usr/bin/env bash
# idle-wire.sh HERALD N [SECONDS]: idle traffic of `herald demo --nodes N --kill 0` on the wire.
#
# Runs the demo in a network namespace of its own, waits until it has printed its figures (the
# grid has formed and an announcement has spread), waits SETTLE seconds more (default 10; give
# it about N + 20, so that every node has probed every member once and opened its connections),
# then counts the loopback interface's packets and bytes over SECONDS (default 20). Prints
# packets and bytes per node per second, and node 0's open QUIC connections from its API.
# Needs root (ip netns). Issue 15's P5 goal: <= 10 packets and <= 2 KB per node per second.
set -euo pipefail
herald=$(realpath "$1"); nodes=$2; seconds=${3:-20}
ns="herald-idle-$$"
out=$(mktemp)
cleanup() { ip netns pids "$ns" 2>/dev/null | xargs -r kill -9; ip netns del "$ns" 2>/dev/null || true; rm -f "$out"; }
trap cleanup EXIT
ip netns add "$ns"
ip netns exec "$ns" ip link set lo up
ip netns exec "$ns" "$herald" demo --nodes "$nodes" --kill 0 --http 127.0.0.1:7421 > "$out" 2>&1 &
for _ in $(seq 1 600); do
  grep -q "127.0.0.1:7421" "$out" && break
  sleep 0.5
done
grep -q "127.0.0.1:7421" "$out" || { echo "the demo did not come up:"; cat "$out"; exit 1; }
sleep "${SETTLE:-10}"
read_lo() { ip netns exec "$ns" cat /proc/net/dev | awk '$1=="lo:" {print $2, $3}'; }
read -r bytes0 packets0 < <(read_lo)
sleep "$seconds"
read -r bytes1 packets1 < <(read_lo)
connections=$(ip netns exec "$ns" curl -s 127.0.0.1:7421/v1/stats | grep -o '"connections_open": *[0-9]*' | grep -o '[0-9]*$' || echo "?")
awk -v b=$((bytes1 - bytes0)) -v p=$((packets1 - packets0)) -v n="$nodes" -v s="$seconds" -v c="$connections" \
  'BEGIN { printf "nodes %d: %.1f packets and %.0f bytes per node per second on the wire; node 0 holds %s connections\n", n, p/n/s, b/n/s, c }'
