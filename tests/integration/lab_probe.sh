#!/usr/bin/env bash
# lab probe in CI: the model must agree with the running kernel on every
# crafted SYN (a smaller count than bench/probe); craft syn|session contract.
set -euo pipefail
T=${TWLAB:-build/twlab}
prefix="tp$$-"
out=$(mktemp -d /tmp/twlab-it-XXXXXX)
cleanup() { $T lab down --prefix "$prefix" >/dev/null 2>&1 || true
            ip netns del "${prefix}cc" 2>/dev/null || true; ip netns del "${prefix}cs" 2>/dev/null || true
            [ -n "${SP:-}" ] && kill "$SP" 2>/dev/null || true; rm -rf "$out"; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

for seed in 1 2; do
  $T lab probe --count 300 --seed $seed --prefix "$prefix" --out "$out/p$seed" --json > "$out/p$seed.json" \
    || fail "probe seed $seed: $(cat "$out/p$seed.json")"
  python3 - "$out/p$seed.json" <<'PY' || exit 1
import json, sys
d = json.load(open(sys.argv[1]))
if d["probes"] != 300 or d["agree"] != 300 or d["disagree"]:
    sys.exit(f"FAIL: probe: {d}")
PY
  # the probes covered both verdicts and both kinds of TIME_WAIT socket
  grep -q 'verdict=TCP_TW_SYN' "$out/p$seed/probe.txt" || fail "no accepted SYN probed"
  grep -q 'verdict=TCP_TW_ACK' "$out/p$seed/probe.txt" || fail "no refused SYN probed"
  grep -q 'tw_ts=0' "$out/p$seed/probe.txt" && grep -q 'tw_ts=1' "$out/p$seed/probe.txt" || fail "tw_ts mix"
done
[ -z "$(ip netns list | grep "^$prefix" || true)" ] || fail "probe left namespaces behind"

# craft: a session leaves a known TIME_WAIT; an older tsval is refused with the
# old ACK; a newer seq and tsval gets the SYN-ACK with ISN tw_snd_nxt + 65537
ip netns add "${prefix}cc"; ip netns add "${prefix}cs"
ip link add eth0 netns "${prefix}cc" type veth peer name eth0 netns "${prefix}cs"
ip -n "${prefix}cc" addr add 198.18.61.2/24 dev eth0; ip -n "${prefix}cs" addr add 198.18.61.1/24 dev eth0
for n in cc cs; do ip -n "$prefix$n" link set eth0 up; ip -n "$prefix$n" link set lo up; done
cat > "$out/srv.py" <<'PY'
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("198.18.61.1", 80)); s.listen(16)
while True:
    c, _ = s.accept(); q = c.recv(4096)
    c.sendall(b"HTTP/1.0 200 OK\r\n\r\n" + q.split(b"\r\n")[0] + b"\n"); c.close()   # echoes the request line
PY
ip netns exec "${prefix}cs" python3 "$out/srv.py" & SP=$!
sleep 0.5
sess=$($T craft session --netns "${prefix}cc" --src 198.18.61.2:33333 --dst 198.18.61.1:80 --isn 1000 --tsval 500000 --json)
rcv=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["time_wait"]["rcv_nxt"])' "$sess")
snd=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["time_wait"]["snd_nxt"])' "$sess")
old=$($T craft syn --netns "${prefix}cc" --src 198.18.61.2:33333 --dst 198.18.61.1:80 --seq 5 --tsval 400000 --json)
python3 - "$old" "$rcv" <<'PY' || exit 1
import json, sys
d = json.loads(sys.argv[1]); r = d["reply"]
if not r or r["flags"] != "A" or r["ack"] != int(sys.argv[2]) or r["tsecr"] != 500000 \
   or not 0 <= r["rtt_ms"] < 1000:
    sys.exit(f"FAIL: craft syn, older tsval: {d}")
PY
new=$($T craft syn --netns "${prefix}cc" --src 198.18.61.2:33333 --dst 198.18.61.1:80 --seq 4000000 --tsval 600000 --json)
python3 - "$new" "$snd" <<'PY' || exit 1
import json, sys
d = json.loads(sys.argv[1]); r = d["reply"]
if not r or r["flags"] != "SA" or r["seq"] != (int(sys.argv[2]) + 65537) % 2**32:
    sys.exit(f"FAIL: craft syn, newer: {d}")
PY
# --request: the server echoes the request line, 3 bytes longer for /abc than /
s2=$($T craft session --netns "${prefix}cc" --src 198.18.61.2:33334 --dst 198.18.61.1:80 --isn 9000 --request /abc --json)
python3 - "$sess" "$s2" <<'PY' || exit 1
import json, sys
a, b = json.loads(sys.argv[1]), json.loads(sys.argv[2])
if b["response_bytes"] - a["response_bytes"] != 3 or b["time_wait"]["ts_recent"] is not None:
    sys.exit(f"FAIL: craft session --request: {a} {b}")
PY
set +e
$T craft session --netns "${prefix}cc" --src 198.18.61.2:1 --dst 198.18.61.1:80 --isn 1 --request 'a b' >/dev/null 2>&1; [ $? -eq 2 ] || fail "craft --request usage"
$T craft syn --netns "${prefix}cc" --src 198.18.61.2 --dst 198.18.61.1:80 --seq 1 >/dev/null 2>&1; [ $? -eq 2 ] || fail "craft usage"
$T craft syn --netns nonexistent-ns --src 198.18.61.2:1 --dst 198.18.61.1:80 --seq 1 >/dev/null 2>&1; [ $? -eq 1 ] || fail "craft bad ns"
set -e
echo "lab_probe: ok"
