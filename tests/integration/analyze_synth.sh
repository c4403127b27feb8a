#!/usr/bin/env bash
# analyze on synthetic fleets with known truth (bench/gen_fleet.c plants the
# collisions by construction and prints what it planted): counts must be exact.
set -euo pipefail
T=${TWLAB:-build/twlab}
here=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d /tmp/twlab-it-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
cc -O2 -Wall -Wextra -Werror -o "$tmp/gen_fleet" "$here/bench/gen_fleet.c" -lpcap
for args in "500 10 5 1" "3000 40 30 7" "20000 100 100 42" "60000 5 0 3"; do
  set -- $args
  "$tmp/gen_fleet" "$tmp/f.pcap" "$@" > "$tmp/truth.json"
  $T analyze "$tmp/f.pcap" --json > "$tmp/got.json"
  python3 - "$tmp/truth.json" "$tmp/got.json" "$args" <<'PY' || exit 1
import json, sys
truth = json.load(open(sys.argv[1])); got = json.load(open(sys.argv[2]))["summary"]
bad = {k: (v, got[k]) for k, v in truth.items() if got[k] != v}
if bad:
    sys.exit(f"FAIL: fleet {sys.argv[3]}: truth vs analyze differ: {bad}")
if got["nat_hosts"].get("198.18.1.1") != 4:
    sys.exit(f"FAIL: fleet {sys.argv[3]}: 4 timestamp clocks behind 198.18.1.1, got {got['nat_hosts']}")
PY
done
echo "analyze_synth: ok"
