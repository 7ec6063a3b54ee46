#!/usr/bin/env bash
# zonesync's scale harness (issue 8), one command: builds zonesync and the harness in release,
# then runs `zonesync run` against BIND and against moto (Route53) with N Ingresses and N
# Services in a fake Kubernetes API server, and writes the results section of BENCHMARKS.md and
# the plots under benches/.
#
#   scripts/scale.sh [--objects 1000,10000] [--providers bind,route53] [--updates 200]
#                    [--out BENCHMARKS.md] [other zonesync-scale flags, see --help]
#
# Needs the test peers (scripts/install-test-peers.sh). Run `cargo bench` first to have the
# planner figures in the report too. The default run (1k and 10k objects, both providers) takes
# about 25 minutes on 2 cores, a good part of it moto absorbing the 10k-object Route53 initial sync.
set -euo pipefail
cd "$(dirname "$0")/.."

target_dir="${CARGO_TARGET_DIR:-target}"
cargo build --release --locked -p zonesync -p zonesync-scale
exec "$target_dir/release/zonesync-scale" \
  --zonesync "$target_dir/release/zonesync" \
  --criterion-dir "$target_dir/criterion" \
  --command-line "scripts/scale.sh $*" \
  "$@"
