#!/usr/bin/env bash
# model vs the running kernel's TCP timestamp offsets (src/model/clock.c):
# getsockopt(TCP_TIMESTAMP) returns the socket's TS clock plus its tsoffset.
# Sockets from one host to one server on different source ports share one
# offset when ts_clock_for(uname -r) says "per (saddr, daddr)" and have
# unrelated ones when it says "per 4-tuple" (6.18.17+); the same 4-tuple
# again always gets the same offset (a keyed hash, no state).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
t_init mc
rel=$(kernel_release)

cat > "$tmp/k.c" <<'CC'
#include <stdio.h>
#include "model/fleet.h"
int main(int argc, char **argv)
{
	uint32_t v;
	if (argc < 2 || !kver_parse(argv[1], &v))
		return 1;
	puts(ts_clock_for(v) == TS_CLOCK_MS_TUPLE_OFFSET ? "tuple" :
	     ts_clock_for(v) == TS_CLOCK_MS_PAIR_OFFSET ? "pair" : "jiffies");
	return 0;
}
CC
model_cc "$tmp/k" "$tmp/k.c"
want=$("$tmp/k" "$rel") || fail "model: cannot parse $rel"
[ "$want" != jiffies ] || skip "jiffies clock (no offsets) on $rel"
[ "$(cat /proc/sys/net/ipv4/tcp_timestamps)" = 1 ] || skip "host tcp_timestamps != 1"

h=$(ns_add h 198.18.0.1/32)
H="ip netns exec $h"
$H ip addr add 198.18.0.2/32 dev lo
accept_close "$h" 198.18.0.1 80 64
sleep 0.5
got=$($H python3 - <<'PY'
import socket, time
TCP_TIMESTAMP = 24
def ts(port=0):
    s = socket.socket(); s.settimeout(3)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("198.18.0.2", port)); s.connect(("198.18.0.1", 80))
    v = s.getsockopt(socket.IPPROTO_TCP, TCP_TIMESTAMP); p = s.getsockname()[1]
    s.recv(1); s.close()   # the server closed first: no TIME_WAIT on this side
    return v, p
near = lambda a, b: min((a - b) % 2**32, (b - a) % 2**32) < 2000
base, p0 = ts()
diff_ports = sum(not near(ts()[0], base) for _ in range(8))
time.sleep(0.2)
same, _ = ts(p0)           # the same 4-tuple again (the server's TIME_WAIT takes it)
print(diff_ports, int(near(same, base)))
PY
)
set -- $got
echo "kernel $rel: $1 of 8 other-port sockets had a different offset; same 4-tuple same offset: $2 (model: per $want)"
[ "$2" = 1 ] || fail "the same 4-tuple got a different TS offset"
if [ "$want" = tuple ]; then
	[ "$1" -ge 7 ] || fail "model says per-4-tuple offsets, kernel shared one across ports"
else
	[ "$1" -eq 0 ] || fail "model says per-(saddr,daddr) offsets, kernel changed it with the port"
fi
echo "ok: TS offset granularity matches the model (per $want)"
