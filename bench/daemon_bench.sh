#!/usr/bin/env bash
# Load benchmark of sesd, with its baseline measured in the same run:
#   1. unary Encrypt against unary Echo (the same server stack without the
#      crypto), 1 KiB, TLS, in interleaved rounds; figure: median ratio;
#   2. BatchEncrypt messages/s (1 KiB items, 100 per call);
#   3. p95 latency of unary Encrypt, open loop at half the peak rate of 1.
# sesd (dev mode: TLS with client certificates, keyfile master key, SQLite
# store) and the load generator share this machine.
#
# usage: bench/daemon_bench.sh [BUILD_DIR]   (ROUNDS=3 DURATION=8 CONCURRENCY=32)
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
rounds=${ROUNDS:-3}
duration=${DURATION:-8}
concurrency=${CONCURRENCY:-32}
sesctl="$build/bin/sesctl"

work=$(mktemp -d /tmp/ses-bench.XXXXXX)
sesd_pid=""
cleanup() {
  if [ -n "$sesd_pid" ]; then kill "$sesd_pid" 2>/dev/null || true; wait "$sesd_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

SES_SERVER__LISTEN=127.0.0.1:0 SES_TELEMETRY__LISTEN=127.0.0.1:0 SES_LOG__LEVEL=warn \
  "$build/bin/sesd" --dev --dir "$work/dev" --port-file "$work/ports" >"$work/sesd.log" 2>&1 &
sesd_pid=$!
for _ in $(seq 1 300); do [ -s "$work/ports" ] && break; sleep 0.1; done
[ -s "$work/ports" ] || { echo "sesd did not start:"; cat "$work/sesd.log"; exit 1; }

# One JSON summary per run; field extraction with python3's json module.
run() { "$sesctl" --dev "$work/dev" bench --keyring dev --json "$@" 2>/dev/null; }
field() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval("d"+sys.argv[1]))' "$1"; }
median() { python3 -c 'import statistics,sys; print(statistics.median(float(x) for x in sys.argv[1:]))' "$@"; }

run --op echo --duration 2 --concurrency "$concurrency" >/dev/null  # warm-up: connections, caches

echo "== unary 1 KiB, concurrency $concurrency, $rounds interleaved rounds of ${duration} s"
echo_rates=(); enc_rates=(); ratios=()
for r in $(seq 1 "$rounds"); do
  e=$(run --op echo --duration "$duration" --concurrency "$concurrency" | field '["ops_per_s"]')
  n=$(run --op encrypt --duration "$duration" --concurrency "$concurrency" | field '["ops_per_s"]')
  ratio=$(python3 -c "print(round($n / $e, 3))")
  printf '  round %d: Echo %8.0f calls/s   Encrypt %8.0f calls/s   ratio %s\n' "$r" "$e" "$n" "$ratio"
  echo_rates+=("$e"); enc_rates+=("$n"); ratios+=("$ratio")
done
peak=$(median "${enc_rates[@]}")
echo_median=$(median "${echo_rates[@]}")
printf '  medians: Echo %.0f/s, Encrypt %.0f/s; Encrypt/Echo: median of round ratios %s, ratio of medians %.3f (goal >= 0.80)\n' \
  "$echo_median" "$peak" "$(median "${ratios[@]}")" "$(python3 -c "print($peak / $echo_median)")"

echo "== BatchEncrypt, 100 x 1 KiB per call, concurrency 8, ${duration} s"
b=$(run --op batch-encrypt --batch 100 --duration "$duration" --concurrency 8)
printf '  %.0f messages/s (%.0f calls/s), p95 %.2f ms per call (goal >= 100000 messages/s)\n' \
  "$(echo "$b" | field '["messages_per_s"]')" "$(echo "$b" | field '["calls_per_s"]')" \
  "$(echo "$b" | field '["latency_ms"]["p95"]')"

half=$(python3 -c "print(int($peak / 2))")
echo "== unary Encrypt open loop at half the peak: $half calls/s, ${duration} s"
l=$(run --op encrypt --rate "$half" --duration "$duration" --concurrency 256)
printf '  p50 %.3f ms  p95 %.3f ms  p99 %.3f ms (goal p95 < 2 ms); %s calls, %s late, %s failed\n' \
  "$(echo "$l" | field '["latency_ms"]["p50"]')" "$(echo "$l" | field '["latency_ms"]["p95"]')" \
  "$(echo "$l" | field '["latency_ms"]["p99"]')" "$(echo "$l" | field '["calls_ok"]')" \
  "$(echo "$l" | field '["calls_late"]')" "$(echo "$l" | field '["calls_failed"]')"
