#!/usr/bin/env bash
# zonesync's whole test suite, as CI runs it: installs missing test peers (BIND, Knot, moto),
# checks formatting and lints, then runs every test (unit, integration against real servers,
# doc tests), then short smoke runs of the scale harness and of every fuzz target so neither
# rots. ZONESYNC_SKIP_SMOKE=1 leaves the smoke runs out (quicker local iterations; the first
# fuzz build takes several minutes).
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/install-test-peers.sh

cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --locked --no-fail-fast
else
  cargo test --workspace --locked --no-fail-fast
fi
cargo test --workspace --locked --doc

if [ "${ZONESYNC_SKIP_SMOKE:-0}" != 1 ]; then
  ./scripts/scale-smoke.sh
  ./scripts/fuzz-smoke.sh 20
fi
