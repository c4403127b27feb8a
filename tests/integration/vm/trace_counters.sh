#!/usr/bin/env bash
# Run on some kernel (host or a scripts/kvm guest) by vm_probe.sh: `twlab
# trace --counters` (the mode trace falls back to where BPF cannot run)
# counts exactly the PAWS rejects craft makes on TIME_WAIT sockets in the
# server's namespace, from the counter this kernel has (TcpExtPAWSTimewait
# 6.15+, TcpExtPAWSEstab before), and sees their TIME_WAIT sockets.
set -euo pipefail
T=${TWLAB:-build/twlab}
P="vf$$-"; S=${P}s; C=${P}c
cleanup() { [ -n "${SP:-}" ] && { kill "$SP" 2>/dev/null || true; }; ip netns del "$S" 2>/dev/null || true; ip netns del "$C" 2>/dev/null || true; }
trap cleanup EXIT
ip netns add "$S"; ip netns add "$C"
ip link add eth0 netns "$C" type veth peer name eth0 netns "$S"
ip -n "$C" addr add 198.18.62.2/24 dev eth0; ip -n "$S" addr add 198.18.62.1/24 dev eth0
for n in "$C" "$S"; do ip -n "$n" link set eth0 up; ip -n "$n" link set lo up; done
ip netns exec "$S" python3 -m http.server 80 --bind 198.18.62.1 >/dev/null 2>&1 & SP=$!
sleep 1.5
# no fixed --duration: under TCG on a busy host three crafted sessions can
# take longer than a few seconds; stop the tracer once they are done
ip netns exec "$S" "$T" trace --counters --duration 600 --json > /tmp/tr.json 2> /tmp/tr.err & TP=$!
t0=$SECONDS
sleep 1.5
for i in 1 2 3; do
  "$T" craft session --netns "$C" --src 198.18.62.2:3300$i --dst 198.18.62.1:80 --isn 1000 --tsval 500000 >/dev/null
  "$T" craft syn --netns "$C" --src 198.18.62.2:3300$i --dst 198.18.62.1:80 --seq 5 --tsval 400000 >/dev/null
done
sleep 2; while [ $((SECONDS - t0)) -lt 8 ]; do sleep 1; done
kill -INT "$TP"; wait "$TP"
grep -q 'trace: --counters: counters (nstat' /tmp/tr.err || { echo "FAIL: no mode line: $(cat /tmp/tr.err)"; exit 1; }
want=$("$T" explain --kernel host --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["values"]["paws_tw_counter"])')
python3 - /tmp/tr.json "$want" <<'PY'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
s = ev[-1]
ok = s["event"] == "summary" and s["mode"] == "counters" and s["paws_rejected"] == 3 \
     and s["paws_counter"] == sys.argv[2] \
     and max(e["time_wait_sockets"] for e in ev) >= 3 and sum(e["event"] == "counters" for e in ev) >= 6
print(("ok: " if ok else "FAIL: ") + json.dumps(s))
sys.exit(0 if ok else 1)
PY
