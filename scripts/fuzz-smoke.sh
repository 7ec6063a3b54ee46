#!/usr/bin/env bash
# A short fuzzing run for CI: builds the cargo-fuzz targets in fuzz/ and runs each for SECONDS
# (default 20) from the seeds in fuzz/seeds/, on a stable toolchain. Exits non-zero when a
# target crashes (panic, failed invariant, timeout or out-of-memory); the input that did it is
# left in fuzz/artifacts/<target>/. Prints the executions of each target.
#
#   scripts/fuzz-smoke.sh [SECONDS]
#
# Environment:
#   FUZZ_TARGETS    targets to run (default: every target cargo fuzz lists)
#   FUZZ_SANITIZER  none (default; plain stable) or address (AddressSanitizer, which needs
#                   nightly flags: the script sets RUSTC_BOOTSTRAP=1 for it)
#   FUZZ_TARGET_DIR build folder for the instrumented targets (default fuzz/target; CI points
#                   it at its cache so the instrumented build is kept between runs)
#
# The first run installs cargo-fuzz (into cargo's bin folder) and builds every dependency with
# coverage instrumentation, which takes several minutes; later runs only fuzz.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-20}"
case "$seconds" in
  '' | *[!0-9]*) echo "usage: $0 [SECONDS]" >&2; exit 2 ;;
esac
sanitizer="${FUZZ_SANITIZER:-none}"
cargo_fuzz_version="0.13.2"

export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "installing cargo-fuzz $cargo_fuzz_version"
  cargo install cargo-fuzz --locked --version "$cargo_fuzz_version"
fi

# The instrumented build gets a folder of its own: a target folder chosen for the main
# workspace would mix instrumented and plain artefacts.
unset CARGO_TARGET_DIR
fuzz_target_dir="${FUZZ_TARGET_DIR:-fuzz/target}"
build_args=(--sanitizer "$sanitizer")
if [ "$sanitizer" != none ]; then
  # -Zsanitizer is a nightly flag; RUSTC_BOOTSTRAP lets the stable compiler accept it.
  export RUSTC_BOOTSTRAP=1
  # A folder per sanitizer, so switching sanitizers does not rebuild everything each time.
  fuzz_target_dir="$fuzz_target_dir/$sanitizer"
fi
if [ "$fuzz_target_dir" != fuzz/target ]; then
  build_args+=(--target-dir "$fuzz_target_dir")
fi

work="$(mktemp -d -t zonesync-fuzz.XXXXXX)"
trap 'rm -rf "$work"' EXIT
# The zonefile target writes its zone files under TMPDIR.
export TMPDIR="$work"

targets="${FUZZ_TARGETS:-$(cargo fuzz list)}"
cargo fuzz build "${build_args[@]}"

failed=()
summary=()
for target in $targets; do
  corpus="fuzz/corpus/$target"
  mkdir -p "$corpus" "fuzz/artifacts/$target"
  seeds=()
  [ -d "fuzz/seeds/$target" ] && seeds+=("fuzz/seeds/$target")
  dict=()
  [ -f "fuzz/dicts/$target.dict" ] && dict+=("-dict=fuzz/dicts/$target.dict")
  log="$work/$target.log"
  echo "fuzzing $target for ${seconds}s"
  status=0
  # libFuzzer stops by itself after -max_total_time; the outer timeout only guards against a
  # run that does not (a hang in libFuzzer itself), with room for loading the corpus.
  timeout --kill-after=10 "$((seconds + 120))" \
    cargo fuzz run "${build_args[@]}" "$target" "$corpus" "${seeds[@]}" -- \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    "${dict[@]}" >"$log" 2>&1 || status=$?
  executions="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)" || true
  coverage="$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | tr -dc '0-9')" || true
  if [ "$status" -ne 0 ]; then
    tail -n 60 "$log" >&2
    echo "fuzz target $target FAILED (exit $status); inputs in fuzz/artifacts/$target/" >&2
    failed+=("$target")
    summary+=("$target: FAILED after ${executions:-?} executions")
  else
    summary+=("$target: ${executions:-?} executions in ${seconds}s, coverage ${coverage:-?}")
  fi
done

printf '%s\n' "${summary[@]}"
if [ "${#failed[@]}" -gt 0 ]; then
  echo "fuzz smoke run failed: ${failed[*]}" >&2
  exit 1
fi
echo "fuzz smoke run passed"
