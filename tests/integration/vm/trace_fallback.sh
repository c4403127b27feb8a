#!/usr/bin/env bash
# Run inside a VM by vm_probe.sh (6.1: the BPF tracer is refused there):
# `twlab trace` falls back to counters, and counts exactly the PAWS rejects
# that craft makes on TIME_WAIT sockets in the server's namespace.
set -euo pipefail
T=${TWLAB:-build/twlab}
P="vf$$-"; S=${P}s; C=${P}c
cleanup() { [ -n "${SP:-}" ] && kill "$SP" 2>/dev/null; ip netns del "$S" 2>/dev/null; ip netns del "$C" 2>/dev/null; true; }
trap cleanup EXIT
ip netns add "$S"; ip netns add "$C"
ip link add eth0 netns "$C" type veth peer name eth0 netns "$S"
ip -n "$C" addr add 198.18.62.2/24 dev eth0; ip -n "$S" addr add 198.18.62.1/24 dev eth0
for n in "$C" "$S"; do ip -n "$n" link set eth0 up; ip -n "$n" link set lo up; done
ip netns exec "$S" python3 -m http.server 80 --bind 198.18.62.1 >/dev/null 2>&1 & SP=$!
sleep 1.5
ip netns exec "$S" "$T" trace --duration 8 --json > /tmp/tr.json 2> /tmp/tr.err & TP=$!
sleep 1.5
for i in 1 2 3; do
  "$T" craft session --netns "$C" --src 198.18.62.2:3300$i --dst 198.18.62.1:80 --isn 1000 --tsval 500000 >/dev/null
  "$T" craft syn --netns "$C" --src 198.18.62.2:3300$i --dst 198.18.62.1:80 --seq 5 --tsval 400000 >/dev/null
done
wait $TP
grep -q 'falling back to counters' /tmp/tr.err || { echo "FAIL: no fallback line: $(cat /tmp/tr.err)"; exit 1; }
python3 - /tmp/tr.json <<'PY'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
s = ev[-1]
ok = s["event"] == "summary" and s["mode"] == "counters" and s["paws_rejected"] == 3 \
     and max(e["time_wait_sockets"] for e in ev) >= 3 and sum(e["event"] == "counters" for e in ev) >= 6
print(("ok: " if ok else "FAIL: ") + json.dumps(s))
sys.exit(0 if ok else 1)
PY
