#!/usr/bin/env bash
# lab load end to end on the real kernel: the report's table in short.
#   baseline (one SNAT address, strict firewall, 4 clients): timeouts
#   static and keep-alive: no collision, no timeout
#   overload:2 when all clients hash to one address (scenarios/coincidence.ini):
#     no better than the baseline (95% CIs overlap); when the hash spreads
#     them (scenarios/spread.ini): significantly lower
#   collisions counted twice (server nstat, analyze over the server capture): equal
#   bad options: usage errors before anything is built
#   Ctrl-C: stops, prints what it measured; SIGKILL: `lab down` removes the rest
set -euo pipefail
T=${TWLAB:-build/twlab}
prefix="ll$$-"
out=$(mktemp -d /tmp/twlab-it-XXXXXX)
cleanup() { $T lab down --prefix "$prefix" >/dev/null 2>&1 || true; rm -rf "$out"; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
get() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$1" "$2"; }
ours() { { ip netns list | grep "^$prefix" || true; ip -o link show | grep -o 'tmp-twl-[a-z]*' || true; } | sort; }
# processes of ours still running (a killed twlab's generator children carry its command line)
procs() { pgrep -f -- "--prefix $prefix" | grep -v "^$$\$" || true; }
[ -z "$(ours)" ] || fail "leftovers before the test: $(ours)"

# --- bad options: exit 2, a clear message, nothing built
bad() {
  local want="$1"; shift
  set +e; msg=$($T lab load --prefix "$prefix" "$@" 2>&1 >/dev/null); rc=$?; set -e
  [ $rc -eq 2 ] || fail "$*: exit $rc, want 2"
  grep -q -- "$want" <<<"$msg" || fail "$*: message '$msg' lacks '$want'"
}
bad "unknown mode" --snat roundrobin
bad "pool size must be at least 1" --snat overload:0
bad "the firewall's outside link has 253 free" --snat overload:254
bad "must be greater than 0" --rate 0
bad "negative numbers are not allowed" --rate -3
bad "LO must be at least 1 and below HI" --port-range 41000-40000
bad "need at least 2 per client" --clients 4 --port-range 40000-40005
bad "at most 8 client namespaces" --clients 9
bad "overlaps 20000-20999" --port-range 19000-22000
bad "python's http.server speaks HTTP/1.0 only" --server python --keepalive 0.5
[ -z "$(ours)" ] || fail "a bad option built something: $(ours)"

# --- the table: baseline, keepalive, overload:2 (coincidence), one-to-one, static.
# 4 clients x 20 requests/s over 800 ports, the report's 1 s firewall
# TIME_WAIT: enough reuses in 10 s for the spread check to have power
load=(--rate 20 --port-range 40000-40799 --fw-time-wait 1 --duration 10)
$T lab load --compare --scenario scenarios/coincidence.ini "${load[@]}" --prefix "$prefix" \
   --out "$out/cmp" --json > "$out/cmp.json" 2> "$out/cmp.err" || { cat "$out/cmp.err"; fail "compare"; }
row() { echo "[r for r in d['rows'] if r['mode'] == '$1'][0]"; }
B=$(row overload:1)
[ "$(get "$out/cmp.json" "[r['mode'] for r in d['rows']]")" = "['overload:1', 'keepalive', 'overload:2', 'one-to-one:16', 'static']" ] \
  || fail "rows: $(get "$out/cmp.json" "[r['mode'] for r in d['rows']]")"
[ "$(get "$out/cmp.json" "$B['timed_out'] > 0 and $B['collisions'] > 0")" = True ] \
  || fail "baseline without timeouts: $(get "$out/cmp.json" "$B")"
for m in static keepalive; do
  R=$(row $m)
  [ "$(get "$out/cmp.json" "($R['collisions'], $R['timed_out'], $R['requests'] > 100)")" = "(0, 0, True)" ] \
    || fail "$m: $(get "$out/cmp.json" "$R")"
done
# static: every client on its own address, as measured by conntrack
[ "$(get "$out/cmp.json" "len({a for c in $(row static)['per_client'] for a in c['snat']})")" = 4 ] \
  || fail "static: not 4 addresses"
# coincidence: all four on one address, and no better than the baseline
O=$(row overload:2)
[ "$(get "$out/cmp.json" "len({a for c in $O['per_client'] for a in c['snat']})")" = 1 ] \
  || fail "coincidence: clients not on one address: $(get "$out/cmp.json" "$O['per_client']")"
[ "$(get "$out/cmp.json" "$O['ci95'][0] <= $B['ci95'][1] and $B['ci95'][0] <= $O['ci95'][1]")" = True ] \
  || fail "coincidence overload:2 CI $(get "$out/cmp.json" "$O['ci95']") apart from baseline $(get "$out/cmp.json" "$B['ci95']")"
grep -q "no change: all 4 clients hash to 198.18.200.1" "$out/cmp.json" || fail "overload:2 verdict"
# one-to-one: the pool never put two clients' live sessions on one address
P=$(row one-to-one:16)
[ "$(get "$out/cmp.json" "$P['nat']['address_shared'] == 0 and $P['pool']['allocations'] >= 4 and $P['requests'] > 100")" = True ] \
  || fail "one-to-one: $(get "$out/cmp.json" "($P['nat'], $P['pool'])")"
# collisions counted twice, equal, in every row that ran
[ "$(get "$out/cmp.json" "all(r['paws_rejected_syns']['agree'] and r['paws_rejected_syns']['nstat'] == r['paws_rejected_syns']['capture'] for r in d['rows'])")" = True ] \
  || fail "nstat and capture disagree: $(get "$out/cmp.json" "[(r['mode'], r.get('paws_rejected_syns')) for r in d['rows']]")"
# every timeout is a collision the capture saw (strict firewall)
[ "$(get "$out/cmp.json" "all(r['timed_out'] == r['collisions'] for r in d['rows'])")" = True ] \
  || fail "timeouts != collisions"
[ -z "$(ours)" ] || fail "left behind after compare: $(ours)"
grep -q "overload:2: " "$out/cmp.err" || fail "no progress on stderr"

# --- the spread scenario: the hash puts two clients on each address: lower
$T lab load --scenario scenarios/spread.ini "${load[@]}" --prefix "$prefix" --out "$out/spread" --json \
   > "$out/spread.json" 2>/dev/null
[ "$(get "$out/spread.json" "len({a for c in d['per_client'] for a in c['snat']})")" = 2 ] || fail "spread: not 2 addresses"
[ "$(get "$out/spread.json" "d['paws_rejected_syns']['agree']")" = True ] || fail "spread: counts disagree"
lo=$(get "$out/cmp.json" "$B['ci95'][0]")
[ "$(get "$out/spread.json" "d['timeout_rate'] < $lo")" = True ] \
  || fail "spread: $(get "$out/spread.json" "d['timeout_rate']") not below the baseline's CI (lower bound $lo)"

# --- Ctrl-C: stops, still prints what it measured (exit 1), leaves nothing
$T lab load --scenario scenarios/coincidence.ini --duration 60 --prefix "$prefix" --out "$out/int" --json \
   > "$out/int.json" 2>/dev/null &
pid=$!
sleep 7
kill -INT $pid
set +e; wait $pid; rc=$?; set -e
[ $rc -eq 1 ] || fail "interrupted run: exit $rc"
[ "$(get "$out/int.json" "d['interrupted'] and d['requests'] > 0")" = True ] || fail "interrupted: $(cat "$out/int.json")"
[ -z "$(ours)" ] || fail "left behind after Ctrl-C: $(ours)"
[ -z "$(procs)" ] || fail "processes left after Ctrl-C: $(procs)"

# --- SIGKILL: the generators stop by themselves, `lab down` removes the rest
$T lab load --scenario scenarios/coincidence.ini --duration 60 --prefix "$prefix" --out "$out/kill" \
   >/dev/null 2>&1 &
pid=$!
sleep 7
{ kill -KILL $pid; wait $pid; } 2>/dev/null || true
$T lab down --prefix "$prefix" >/dev/null
sleep 1
[ -z "$(ours)" ] || fail "lab down after SIGKILL left: $(ours)"
[ -z "$(procs)" ] || fail "processes left after SIGKILL + lab down: $(procs)"
echo "lab_load: ok"
