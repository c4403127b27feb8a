#!/usr/bin/env bash
# model vs the running kernel's netfilter NAT (src/model/nat.c):
#  1. overload address: 40 client addresses behind `snat to` a range of 4
#     addresses; the address conntrack shows for each client must be the one
#     nat_overload_addr() computes (find_best_ips_proto: jhash2 + reciprocal_scale).
#  2. port: a client's port is kept when the reply tuple is free; a second
#     client on the same outside address with the same port gets another
#     port in 1024-65535 (get_unique_tuple -> nf_nat_l4proto_unique_tuple).
#  3. a full port range: how often a new connection evicts a conntrack
#     TIME_WAIT entry (6.5+) against the model's probability.
# Namespaces only, addresses from 198.18.0.0/15, removed on exit.
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
p="mn$$-"
tmp=$(mktemp -d /tmp/twlab-it-XXXXXX)
spid=
cleanup() {
	[ -n "$spid" ] && kill $spid 2>/dev/null || true
	for n in c r s; do ip netns del "$p$n" 2>/dev/null || true; done
	rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

for n in c r s; do ip netns add "$p$n"; done
C="ip netns exec ${p}c"; R="ip netns exec ${p}r"; S="ip netns exec ${p}s"
ip link add "${p}c0" netns "${p}c" type veth peer name "${p}r0" netns "${p}r"
ip link add "${p}r1" netns "${p}r" type veth peer name "${p}s0" netns "${p}s"
for ns in "$C" "$R" "$S"; do $ns ip link set lo up; done
$C ip link set "${p}c0" up; $R ip link set "${p}r0" up; $R ip link set "${p}r1" up
$S ip link set "${p}s0" up
for i in $(seq 1 40); do $C ip addr add "198.18.10.$i/24" dev "${p}c0"; done
$C ip route add default via 198.18.10.254
$R ip addr add 198.18.10.254/24 dev "${p}r0"
$R ip addr add 198.19.1.254/24 dev "${p}r1"
$S ip addr add 198.19.1.1/24 dev "${p}s0"
$S ip route add 198.19.0.0/24 via 198.19.1.254
$R sysctl -qw net.ipv4.ip_forward=1
$R nft -f - <<NFT
table ip mn {
  chain post {
    type nat hook postrouting priority 100;
    oifname "${p}r1" snat to 198.19.0.10-198.19.0.13
  }
}
NFT
# a server that accepts and closes: conntrack keeps each entry (TIME_WAIT 120 s)
$S python3 -c "
import socket
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(('198.19.1.1', 80)); l.listen(128)
while True:
    c, _ = l.accept(); c.close()
" & spid=$!
sleep 0.5

# the model's answer, from the same source files the binary is built from
cat > "$tmp/m.c" <<'CC'
#include <stdio.h>
#include <stdlib.h>
#include "model/fleet.h"
int main(int argc, char **argv)
{
	(void)argc;
	uint32_t client = (uint32_t)strtoul(argv[1], NULL, 0);
	uint32_t a = nat_overload_addr(0xC613000Au, 4, client, 0xC6130101u, 0, false);
	printf("%u.%u.%u.%u\n", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
	return 0;
}
CC
cc -std=gnu11 -O2 -I"$here/src" -o "$tmp/m" "$tmp/m.c" "$here"/src/model/*.c -lm

# --- 1. one connection per client address
$C python3 - <<'PY'
import socket
for i in range(1, 41):
    s = socket.socket(); s.settimeout(2)
    s.bind((f"198.18.10.{i}", 0)); s.connect(("198.19.1.1", 80)); s.close()
PY
ct() { $R conntrack -L -p tcp 2>/dev/null | sed -nE 's/.*src=([0-9.]+) dst=198\.19\.1\.1 sport=([0-9]+) .*src=198\.19\.1\.1 dst=([0-9.]+) sport=80 dport=([0-9]+).*/\1 \2 \3 \4/p'; }
ct | awk '{print $1, $3}' | sort -uV > "$tmp/kernel"
[ "$(wc -l < "$tmp/kernel")" -eq 40 ] || fail "conntrack shows $(wc -l < "$tmp/kernel") clients, want 40"
for i in $(seq 1 40); do
	echo "198.18.10.$i $("$tmp/m" $((0xC6120A00 + i)))"
done | sort -uV > "$tmp/model"
diff "$tmp/kernel" "$tmp/model" >&2 || fail "overload address: model and kernel disagree"
echo "ok: overload address of 40 clients agrees with the kernel ($(cut -d' ' -f2 "$tmp/kernel" | sort | uniq -c | awk '{printf "%s:%s ", $2, $1}'))"

# --- 2. two clients on the same outside address, same source port
a=$(awk 'NR==1{print $2}' "$tmp/model")
pair=$(awk -v a="$a" '$2 == a && n < 2 {print $1; n++}' "$tmp/model" | tr '\n' ' ')
set -- $pair
[ $# -eq 2 ] || fail "no two clients share an address"
$C python3 - "$1" "$2" <<'PY'
import socket, sys
for ip in sys.argv[1:]:
    s = socket.socket(); s.settimeout(2)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((ip, 45678)); s.connect(("198.19.1.1", 80)); s.close()
PY
first=$(ct | awk -v c="$1" '$1 == c && $2 == 45678 {print $4}')
second=$(ct | awk -v c="$2" '$1 == c && $2 == 45678 {print $4}')
[ "$first" = 45678 ] || fail "first client's port not kept: $first"
[ -n "$second" ] && [ "$second" != 45678 ] && [ "$second" -ge 1024 ] && [ "$second" -le 65535 ] \
	|| fail "second client's port: '$second', want another port in 1024-65535"
echo "ok: port 45678 kept for $1, $2 on the same address got $second"

# --- 3. a full port range: the new SYN evicts a conntrack TIME_WAIT entry it
# has passed (6.5+ nf_nat_used_tuple_harder) -- or gets no port at all.
# `snat to ADDR:40000-40003`; client A fills the four ports with connections
# it closes first (conntrack TIME_WAIT 120 s, no server TIME_WAIT); client B
# then connects. Model: B gets through when its SYN's seq has passed one of
# the four old entries' td_end (random ISNs: 1 - 2^-4), never before 6.5.
rel=$(sed -nE 's/.*Debian ([0-9]+\.[0-9]+\.[0-9]+).*/\1/p' /proc/version)
[ -n "$rel" ] || rel=$(uname -r)
cat > "$tmp/ev.c" <<'CC'
#include <stdio.h>
#include "model/fleet.h"
/* the model's P(B gets a port) on this kernel: 4 closing entries with random
 * td_end, a SYN with a random seq, --to-ports 40000-40003 */
static uint32_t old_end[4];
static enum nat_tuple cb(void *ctx, uint32_t a, uint16_t port, uint32_t *oe)
{
	(void)ctx; (void)a;
	*oe = old_end[port - 40000];
	return NAT_TUPLE_USED_CLOSING;
}
int main(int argc, char **argv)
{
	uint32_t kv;
	struct model_rng r;
	unsigned ok = 0, n = 20000;
	if (argc < 2 || !kver_parse(argv[1], &kv))
		return 1;
	model_rng_seed(&r, 5);
	for (unsigned t = 0; t < n; t++) {
		struct nat_state ns;
		nat_state_init(&ns, nat_preset_find("linux"), kv);
		ns.range_given = true; ns.port_lo = 40000; ns.port_hi = 40003;
		for (int i = 0; i < 4; i++)
			old_end[i] = (uint32_t)model_rng_next(&r);
		struct nat_req rq = { .nat_addr = 1, .client_port = 50000,
				      .syn_seq_end = (uint32_t)model_rng_next(&r) };
		ok += nat_pick_port(&ns, &rq, &r, cb, NULL).port != 0;
	}
	printf("%.3f\n", (double)ok / n);
	return 0;
}
CC
cc -std=gnu11 -O2 -I"$here/src" -o "$tmp/ev" "$tmp/ev.c" "$here"/src/model/*.c -lm
want=$("$tmp/ev" "$rel") || fail "model: cannot parse $rel"
$R nft -f - <<NFT
flush table ip mn
table ip mn {
  chain post {
    type nat hook postrouting priority 100;
    oifname "${p}r1" meta l4proto tcp snat to 198.19.0.20:40000-40003
  }
}
NFT
# a server on port 81 that waits for the client's FIN before closing
$S python3 -c "
import socket
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(('198.19.1.1', 81)); l.listen(128)
while True:
    c, _ = l.accept(); c.settimeout(5)
    try: c.recv(1)
    except OSError: pass
    c.close()
" & spid="$spid $!"
sleep 0.5
ok=0; trials=16
for t in $(seq 1 $trials); do
	$R conntrack -F >/dev/null 2>&1 || true
	r=$($C python3 - <<'PY'
import socket, time
for i in range(4):                       # A fills 40000-40003, closing first
    s = socket.socket(); s.settimeout(2)
    s.bind(("198.18.10.1", 0)); s.connect(("198.19.1.1", 81)); s.close()
time.sleep(0.3)
s = socket.socket(); s.settimeout(2.5)  # B: one SYN and one retransmission
s.bind(("198.18.10.2", 0))
try:
    s.connect(("198.19.1.1", 81)); print(1)
except OSError:
    print(0)
s.close()
PY
)
	ok=$((ok + r))
done
echo "kernel $rel: client B got through a full 4-port range in $ok of $trials trials; model: P = $want"
python3 -c "import sys; k=$ok/$trials; m=$want; sys.exit(0 if abs(k - m) <= 0.25 else 1)" \
	|| fail "full range: kernel $ok/$trials, model $want"
echo "ok: NAT port exhaustion and TIME_WAIT eviction match the model"
