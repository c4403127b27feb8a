#!/usr/bin/env bash
# Run on some kernel (host or scripts/kvm guest): three connections from one
# address pair on ports 41000-41002 over loopback; prints the Debian/kernel
# version and the SYNs' TSvals, one per line ("PORT TSVAL"). Per-pair TS
# offsets give values ~200 ms apart; per-4-tuple offsets unrelated values.
set -euo pipefail
ip link set lo up 2>/dev/null || true
v=$(grep -o 'Debian [0-9][^ ]*' /proc/version | tail -1 || true); [ -n "$v" ] || v=$(uname -r); echo "version $v"
python3 - <<'P'
import socket, time
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("127.0.0.1", 9998)); l.listen(8)
for p in (41000, 41001, 41002):
    c = socket.socket(); c.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    c.bind(("127.0.0.1", p)); c.connect(("127.0.0.1", 9998))
    a, _ = l.accept()
    # the server side's ts_recent is the client's SYN tsval: read it back via TCP_INFO? no:
    # use the client's own clock as the kernel sees it: getsockopt(TCP_TIMESTAMP) = tsval now
    print(p, c.getsockopt(socket.IPPROTO_TCP, 24) & 0xffffffff)   # TCP_TIMESTAMP
    a.close(); c.close(); time.sleep(0.2)
P
