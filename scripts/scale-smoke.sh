#!/usr/bin/env bash
# A small run of the scale harness for CI, so it never rots: 100 Ingresses and 100 Services,
# 20 updates, short steady windows, against BIND and moto. Uses the debug build (the test suite
# has already built it) and writes its report to a temporary folder, never to BENCHMARKS.md.
# Exits non-zero when a run fails (records not served, zonesync exiting, a wait timing out);
# missed performance targets do not fail it.
set -euo pipefail
cd "$(dirname "$0")/.."

target_dir="${CARGO_TARGET_DIR:-target}"
out="$(mktemp -d -t zonesync-scale-smoke.XXXXXX)"
# Keep the logs when something fails.
trap 'status=$?; if [ "$status" -eq 0 ]; then rm -rf "$out"; else echo "scale smoke run failed; logs and report in $out" >&2; fi' EXIT

cargo build --locked -p zonesync -p zonesync-scale
timeout 600 "$target_dir/debug/zonesync-scale" \
  --zonesync "$target_dir/debug/zonesync" \
  --objects 100 \
  --providers bind,route53 \
  --memory-objects 0 \
  --updates 20 \
  --steady-seconds 5 \
  --short-interval-seconds 3 \
  --short-steady-seconds 8 \
  --timeout-seconds 120 \
  --out "$out/BENCHMARKS.md" \
  --plots-dir "$out" \
  --logs "$out/logs" \
  --command-line "scripts/scale-smoke.sh"
echo "scale smoke run passed"
