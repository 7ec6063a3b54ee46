#!/usr/bin/env bash
# The demo: no cluster, no cloud. Ingresses and Services come from deploy/examples/manifests,
# the DNS zone is a zone file. Plans, syncs a copy of the zone, and plans again.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== building zonesync (the first build takes a few minutes)"
cargo build --quiet --bin zonesync
zonesync=target/debug/zonesync
[ -n "${CARGO_TARGET_DIR:-}" ] && zonesync="$CARGO_TARGET_DIR/debug/zonesync"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp deploy/examples/zones/*.zone "$work/"
flags=(--source manifest --manifest deploy/examples/manifests --provider zonefile --zonefile-dir "$work")

echo "== zonesync plan (what would change, and why)"
status=0; "$zonesync" plan "${flags[@]}" || status=$?
echo "(exit status $status: 2 means there are changes)"
echo
echo "== zonesync sync (apply the plan to a copy of the zone)"
"$zonesync" sync "${flags[@]}"
echo
echo "== zonesync plan again (nothing left to do)"
status=0; "$zonesync" plan "${flags[@]}" || status=$?
echo "(exit status $status)"
echo
echo "== the zone file after the sync"
cat "$work"/example.com.zone
