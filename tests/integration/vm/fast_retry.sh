#!/usr/bin/env bash
# Run on some kernel (host or a scripts/kvm guest): the client's first SYN is
# answered with a bare ACK whose ack number is wrong (what a TIME_WAIT
# collision sends), every later SYN is dropped. The client resets it and, on
# 5.6+, resends its SYN at TCP_TIMEOUT_MIN; the SYN after that waits 2 s on
# 5.6-6.4 (the RTO doubled), 1 s on 6.5+ (linear timeouts). Checks both
# against the model (explain synsent: next_syn_ms, and the RTO after one
# retransmission from explain --kernel's schedule).
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
t_init fr
veth_pair c 198.18.64.2/24 s 198.18.64.1/24
drop_tcp ${prefix}s twlab_fr dport 80
# the answering "TIME_WAIT": an AF_PACKET socket in the server namespace
# (it says when it listens: python starts slowly in a TCG guest, and a first
# SYN sent before that draws no answer)
ip netns exec ${prefix}s python3 - "$tmp/ready" <<'PY' & AP=$!
import socket, struct, sys
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800))
s.bind(("eth0", 0))
open(sys.argv[1], "w").close()
def csum(b):
    if len(b) % 2: b += b"\0"
    t = sum(struct.unpack("!%dH" % (len(b) // 2), b)); t = (t >> 16) + (t & 0xffff); t += t >> 16
    return ~t & 0xffff
while True:
    f = s.recv(2048)
    ip = f[14:]; ihl = (ip[0] & 15) * 4; tcp = ip[ihl:]
    if ip[9] != 6 or tcp[13] != 0x02: continue
    src, dst = ip[12:16], ip[16:20]; sp, dp = tcp[0:2], tcp[2:4]
    th = dp + sp + struct.pack("!II", 7777, 12345) + bytes([0x50, 0x10]) + struct.pack("!HHH", 65535, 0, 0)
    th = th[:16] + struct.pack("!H", csum(dst + src + struct.pack("!BBH", 0, 6, 20) + th)) + th[18:]
    iph = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 40, 0, 0, 64, 6, 0, dst, src)
    iph = iph[:10] + struct.pack("!H", csum(iph)) + iph[12:]
    s.send(f[6:12] + f[0:6] + f[12:14] + iph + th)
    break
PY
t_bg $AP
for _ in $(seq 300); do [ -e "$tmp/ready" ] && break; sleep 0.1; done
[ -e "$tmp/ready" ] || fail "the answering socket did not start in 30 s"
watch_connect ${prefix}c 'tcp[tcpflags] & (tcp-syn|tcp-rst) != 0 and src 198.18.64.2' "$tmp/fr.txt" 198.18.64.1 3.6
fast=$("$T" explain synsent --kernel host --snd-una 1000 --ack 12345 --json | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["next_syn_ms"] if d["fast_retry"] else 0)')
after=$("$T" explain --kernel host --json | python3 -c 'import json,sys; a=json.load(sys.stdin)["values"]["syn_retransmit_at_ms"]; print(a[1]-a[0])')
python3 - "$fast" "$after" "$tmp/fr.txt" <<'PY'
import sys
fast, after = int(sys.argv[1]), int(sys.argv[2])
ev = [(float(l.split()[0]), "R" if "[R]" in l else "S") for l in open(sys.argv[3]) if "Flags" in l]
syn = [t for t, f in ev if f == "S"]; rst = [t for t, f in ev if f == "R"]
d = [round((b - a) * 1000) for a, b in zip(syn, syn[1:])]
print(f"model: fast retry {fast} ms, then {after} ms; measured: RSTs {len(rst)}, SYN gaps {d}")
if fast:   # the fast retry, then one RTO after it
    ok = len(rst) == 1 and len(d) >= 2 and d[0] < 100 and abs(d[1] - after) <= 200
else:
    ok = len(rst) == 1 and len(d) >= 1 and d[0] > 900
print("ok" if ok else "FAIL: fast retry / backoff differ from the model"); sys.exit(0 if ok else 1)
PY
