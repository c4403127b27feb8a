#!/usr/bin/env bash
# analyze on synthetic fleets with known truth (bench/gen_fleet.c plants the
# collisions by construction and prints what it planted): counts must be exact.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
t_init as
gen_fleet_cc "$tmp/gen_fleet"
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
# the same fleet as pcapng and as nanosecond pcap (libpcap's reader, not the
# mapped classic-pcap path) must give the same answer
if command -v editcap >/dev/null; then
  "$tmp/gen_fleet" "$tmp/f.pcap" 3000 40 30 7 > /dev/null
  $T analyze "$tmp/f.pcap" --json | python3 -c 'import json,sys; d=json.load(sys.stdin); d["summary"].pop("files"); print(d["summary"], [c["ts"] for c in d["collisions"]])' > "$tmp/a"
  for fmt in pcapng nsecpcap; do
    editcap -F $fmt "$tmp/f.pcap" "$tmp/f.$fmt"
    $T analyze "$tmp/f.$fmt" --json | python3 -c 'import json,sys; d=json.load(sys.stdin); d["summary"].pop("files"); print(d["summary"], [c["ts"] for c in d["collisions"]])' > "$tmp/b"
    cmp -s "$tmp/a" "$tmp/b" || fail "$fmt differs from pcap"
  done
fi
# --plot: gnuplot draws both panels from the same result
"$tmp/gen_fleet" "$tmp/f.pcap" 3000 40 30 7 > /dev/null
$T analyze "$tmp/f.pcap" --plot "$tmp/p.svg" > /dev/null
grep -q "TIME_WAIT collisions over time (70 listed)" "$tmp/p.svg" || fail "--plot: no collision panel"
grep -q "TIME_WAIT 60 s (kernel 6.18)" "$tmp/p.svg" || fail "--plot: no TIME_WAIT line"
grep -q "next SYN on the 4-tuple (70 reuses)" "$tmp/p.svg" || fail "--plot: no reuse panel"
set +e; $T analyze "$tmp/f.pcap" --plot /nonexistent/dir/p.svg > /dev/null 2>&1; rc=$?; set -e
[ $rc -eq 1 ] || fail "--plot to an unwritable path: rc=$rc"
echo "analyze_synth: ok"
