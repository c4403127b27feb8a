#!/usr/bin/env bash
# model vs the running kernel's connect() port choice (src/model/ports.c):
# 3000 connects from one namespace to one server, nothing else holding ports
# (the server closes first, so the client keeps no TIME_WAIT). The kernel's
# steps between consecutive source ports must follow the allocator the model
# picks for this kernel (port_alg_for_release(uname -r)): for the 2022 table
# (every kernel >= 5.18), even ports and steps of 2, 4, ..., 16 one time in
# eight each, except where the 10 s re-salt moves to a new table entry.
# The model's own steps, from the same run shape, are printed next to them.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
t_init mp
rel=$(kernel_release)

cat > "$tmp/alg.c" <<'CC'
#include <stdio.h>
#include <stdlib.h>
#include "model/fleet.h"
/* alg RELEASE -> allocator name; steps N -> the model's steps of N connects */
static bool none(void *c, uint16_t p) { (void)c; (void)p; return false; }
int main(int argc, char **argv)
{
	enum port_alg a;
	if (!port_alg_for_release(argv[1], &a))
		return 1;
	if (argc < 3) { puts(port_alg_str(a)); return 0; }
	static uint32_t table[65536];
	struct port_alloc pa; struct model_rng r;
	model_rng_seed(&r, 1);
	port_alloc_init(&pa, a, 32768, 60999, table, &r);
	int prev = -1;
	for (int i = 0; i < atoi(argv[2]); i++) {
		int port = port_alloc_connect(&pa, 0xC6120001u, 0xC6120001u, 80, 5000 + i / 2, &r,
					      none, NULL).port;
		if (prev >= 0)
			printf("%d %d\n", port, (port - prev + 28232) % 28232);
		prev = port;
	}
	return 0;
}
CC
model_cc "$tmp/alg" "$tmp/alg.c"
alg=$("$tmp/alg" "$rel") || fail "model: no allocator for $rel"
[ "$alg" = perturb64k ] || skip "model says $alg for $rel; this check covers perturb64k"

h=$(ns_add h 198.18.0.1/32)
H="ip netns exec $h"
$H sysctl -qw net.ipv4.ip_local_port_range="32768 60999"
accept_close "$h" 198.18.0.1 80 512
sleep 0.5
$H python3 - > "$tmp/kernel" <<'PY'
import socket
prev = None
for i in range(3000):
    s = socket.socket(); s.settimeout(2)
    s.connect(("198.18.0.1", 80))
    port = s.getsockname()[1]
    s.recv(1)          # the server closes first: no TIME_WAIT on this side
    s.close()
    if prev is not None:
        print(port, (port - prev) % 28232)
    prev = port
PY
"$tmp/alg" "$rel" 3000 > "$tmp/model"

summ() {  # file -> "odd=N small=N" and per-step counts 2..16
	awk '{ if (($1 - 32768) % 2) odd++; if ($2 >= 2 && $2 <= 16 && $2 % 2 == 0) { small++; c[$2]++ } }
	     END { printf "odd=%d small=%d", odd, small; for (s = 2; s <= 16; s += 2) printf " %d:%d", s, c[s]; print "" }' "$1"
}
k=$(summ "$tmp/kernel"); m=$(summ "$tmp/model")
echo "kernel $rel: $k"
echo "model  $alg:       $m"
odd=$(sed -E 's/odd=([0-9]+).*/\1/' <<<"$k"); small=$(sed -E 's/.*small=([0-9]+).*/\1/' <<<"$k")
[ "$odd" -le 5 ] || fail "kernel used $odd odd ports, the model's allocator uses even ones"
[ "$small" -ge 2950 ] || fail "kernel: only $small of 2999 steps in 2..16 (more than a re-salt's worth of jumps)"
# each step value 2..16 about one time in eight (2999/8 = 375; 4 sd ~ 70)
for s in 2 4 6 8 10 12 14 16; do
	n=$(sed -E "s/.* $s:([0-9]+).*/\1/" <<<"$k")
	[ "$n" -ge 300 ] && [ "$n" -le 450 ] || fail "kernel: step $s seen $n times, model expects ~375"
done
echo "ok: kernel port steps match the model's perturb64k allocator"
