# tests/integration/lib.sh - sourced by the integration tests (not a test:
# the Makefile leaves it out of `make integration`). What every test that
# builds namespaces repeats: a unique prefix, namespaces and veth pairs
# from 198.18.0.0/15, temporary files, background processes, and one
# cleanup that removes all of it when the test ends, also on failure or a
# signal. Usage, at the top of a test:
#
#   set -euo pipefail
#   . "$(dirname "$0")/lib.sh"          # (../lib.sh from vm/)
#   t_init xx                           # prefix "xx$$-" in $prefix, $tmp
#   ns=$(ns_add a 198.18.64.1/24)       # "${prefix}a", loopback up (+ address)
#   veth_pair c 198.18.64.2/24 s 198.18.64.1/24   # eth0 in each, up
#   t_bg $!; t_on_exit 'CMD'; fail "why"; skip "why"
#
# Cleanup runs in reverse order of registration: commands, background
# processes (by PID, never by name), namespaces, temporary directories.
# A command of $(...) runs in a subshell: what it registers there would be
# lost, so ns_add and t_tmpdir register from the parent through a file.

T=${TWLAB:-build/twlab}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
_t_reg=
_t_done=
_t_owner=

# fail WHY: the test failed; with $fail_dump set, the *.err files there too
fail() {
	echo "FAIL: $*" >&2
	local f
	for f in ${fail_dump:+"$fail_dump"/*.err}; do [ -e "$f" ] && { echo "== $f" >&2; cat "$f" >&2; }; done
	exit 1
}
skip() { echo "skip: $*"; exit 0; }

# Run at exit: every registered item, newest first; errors ignored. The
# registry is a file, so that items added in $(...) subshells count too.
_t_cleanup() {
	local rc=$? line kind arg live i lines=()
	[ -n "$_t_done" ] || [ "$BASHPID" != "$_t_owner" ] && return 0
	_t_done=1
	set +e
	[ -n "$_t_reg" ] && [ -f "$_t_reg" ] || exit $rc
	# only processes still ours (a PID that ended and was waited for may
	# belong to someone else by now)
	live=" $(jobs -p | tr '\n' ' ') "
	# no process substitution: a guest of scripts/kvm has no /dev/fd
	mapfile -t lines < "$_t_reg"
	for ((i = ${#lines[@]} - 1; i >= 0; i--)); do
		line=${lines[i]}; kind=${line%% *}; arg=${line#* }
		case $kind in
		cmd) eval "$arg" >/dev/null 2>&1 ;;
		pid) [[ $live == *" $arg "* ]] && kill "$arg" 2>/dev/null ;;
		ns) ip netns del "$arg" 2>/dev/null ;;
		dir) rm -rf -- "$arg" ;;
		esac
	done
	rm -f -- "$_t_reg"
	exit $rc
}

# t_init NAME: prefix "NAME$$-" (in $prefix), a temporary directory (in
# $tmp), the cleanup trap. Signals end the test through the EXIT trap (exit
# 128+N), so they clean up too.
t_init() {
	prefix="$1$$-"
	_t_owner=$BASHPID
	_t_reg=$(mktemp /tmp/twlab-it-reg-XXXXXX)
	trap _t_cleanup EXIT
	trap 'exit 129' HUP
	trap 'exit 130' INT
	trap 'exit 143' TERM
	tmp=$(t_tmpdir)
}

# lab_init NAME: t_init, and `twlab lab down --prefix` of everything the
# test's labs left, at exit.
lab_init() {
	t_init "$1"
	t_on_exit '$T lab down --prefix "$prefix"'
}

_t_add() { [ -n "$_t_reg" ] || fail "lib.sh: t_init first"; printf '%s %s\n' "$1" "$2" >> "$_t_reg"; }
t_on_exit() { _t_add cmd "$1"; }          # CMD, run by eval at exit
t_bg() { _t_add pid "$1"; }               # PID of a background job of this shell

# t_tmpdir: a new temporary directory, removed at exit; prints its path.
t_tmpdir() {
	local d
	d=$(mktemp -d /tmp/twlab-it-XXXXXX)
	_t_add dir "$d"
	echo "$d"
}

# ns_add NAME [ADDR]: namespace "${prefix}NAME" with loopback up (and ADDR,
# from 198.18.0.0/15, on it), removed at exit; prints its name.
ns_add() {
	local n="${prefix}$1"
	[ -z "${2:-}" ] || in_lab "$2" || fail "lib.sh: ns_add: $2: not in 198.18.0.0/15"
	_t_add ns "$n"
	ip netns add "$n"
	ip -n "$n" link set lo up
	[ -z "${2:-}" ] || ip -n "$n" addr add "$2" dev lo
	echo "$n"
}

# in_lab ADDR[/LEN]: true when ADDR is in 198.18.0.0/15.
in_lab() { [[ $1 =~ ^198\.1[89]\.[0-9]+\.[0-9]+(/[0-9]+)?$ ]]; }

# veth_pair A ADDR_A B ADDR_B [IF]: a veth pair between namespaces
# ${prefix}A and ${prefix}B (made if missing), each end named IF (eth0),
# with its address (from 198.18.0.0/15 only), up.
veth_pair() {
	local a="${prefix}$1" aa=$2 b="${prefix}$3" ba=$4 dev=${5:-eth0} n
	in_lab "$aa" && in_lab "$ba" || fail "lib.sh: veth_pair: $aa, $ba: not in 198.18.0.0/15"
	for n in "$1" "$3"; do
		[ -e "/var/run/netns/${prefix}$n" ] || ns_add "$n" >/dev/null
	done
	ip link add "$dev" netns "$a" type veth peer name "$dev" netns "$b"
	ip -n "$a" addr add "$aa" dev "$dev"
	ip -n "$b" addr add "$ba" dev "$dev"
	ip -n "$a" link set "$dev" up
	ip -n "$b" link set "$dev" up
}

# drop_tcp NS TABLE PORT: an nft table of the test's own in namespace NS
# that drops incoming TCP to (dport) or from (sport) PORT: WHICH is dport
# or sport. Goes with the namespace.
drop_tcp() {
	local ns=$1 table=$2 which=$3 port=$4
	ip netns exec "$ns" nft -f - <<NFT
table ip $table {
  chain in {
    type filter hook input priority filter; policy accept;
    tcp $which $port drop
  }
}
NFT
}

# watch_connect NS FILTER FILE ADDR TIMEOUT: tcpdump -tt on NS's eth0 with
# FILTER into FILE while one connect() to ADDR:80 from NS runs until it
# fails or TIMEOUT seconds pass; tcpdump stops after it. The connect waits
# until tcpdump listens (slow to start in a TCG guest), then 1 s.
watch_connect() {
	local ns=$1 dp
	ip netns exec "$ns" tcpdump -i eth0 -n -tt -l "$2" > "$3" 2> "$3.err" & dp=$!
	t_bg $dp
	for _ in $(seq 300); do grep -q "listening on" "$3.err" && break; sleep 0.1; done
	grep -q "listening on" "$3.err" || fail "tcpdump did not start in 30 s: $(cat "$3.err")"
	sleep 1
	ip netns exec "$ns" python3 -c "
import socket
s = socket.socket(); s.settimeout($5)
try: s.connect(('$4', 80))
except OSError: pass"
	sleep 0.3
	kill $dp; wait $dp 2>/dev/null || true
}

# accept_close NS ADDR PORT BACKLOG: a TCP server in NS that accepts and
# closes at once (the server closes first: the client keeps no TIME_WAIT);
# stopped at exit.
accept_close() {
	ip netns exec "$1" python3 -c "
import socket
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(('$2', $3)); l.listen($4)
while True:
    c, _ = l.accept(); c.close()
" &
	t_bg $!
}

# The upstream release of the running kernel: Debian's uname -r is an ABI
# name (6.1.0-56-amd64); /proc/version carries the real one ("Debian
# 6.1.192-2").
kernel_release() {
	local rel
	rel=$(sed -nE 's/.*Debian ([0-9]+\.[0-9]+\.[0-9]+).*/\1/p' /proc/version)
	[ -n "$rel" ] || rel=$(uname -r)
	echo "$rel"
}

# model_cc OUT SRC: a helper program SRC built against src/model.
model_cc() { cc -std=gnu11 -O2 -I"$HERE/src" -o "$1" "$2" "$HERE"/src/model/*.c -lm; }

# gen_fleet_cc OUT: bench/gen_fleet.c (synthetic fleet captures) built.
gen_fleet_cc() { cc -O2 -Wall -Wextra -Werror -I"$HERE/src" -o "$1" "$HERE/bench/gen_fleet.c" -lpcap; }

# json_get FILE EXPR: EXPR evaluated by python with d = the JSON of FILE.
# json_count FILE EXPR: how many JSON lines e of FILE make EXPR true
json_count() { python3 - "$1" "$2" <<'PY'
import json, sys
print(sum(1 for line in open(sys.argv[1]) if eval(sys.argv[2], {}, {"e": json.loads(line)})))
PY
}
json_get() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$1" "$2"; }

# lab_ours: what a lab test may leave behind: namespaces with its prefix and
# the temporary link names the lab uses while it moves veths.
lab_ours() { { ip netns list | grep "^$prefix" || true; ip -o link show | grep -o 'tmp-twl-[a-z]*' || true; } | sort; }
