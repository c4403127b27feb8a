#!/usr/bin/env bash
# lab load end to end on the real kernel: the report's table in short.
#   baseline (one SNAT address, strict firewall, 4 clients): timeouts
#   static and keep-alive: no collision, no timeout
#   overload:2 when all clients hash to one address (scenarios/coincidence.ini):
#     no better than the baseline (not significantly lower); when the hash spreads
#     them (scenarios/spread.ini): significantly lower
#   collisions counted twice (server nstat, analyze over the server capture): equal
#   bad options: usage errors before anything is built
#   Ctrl-C: stops, prints what it measured; SIGKILL: `lab down` removes the rest
set -euo pipefail
. "$(dirname "$0")/lib.sh"
lab_init ll
# processes of ours still running (a killed twlab's generator children carry its command line)
procs() { pgrep -f -- "--prefix $prefix" | grep -v "^$$\$" || true; }
[ -z "$(lab_ours)" ] || fail "leftovers before the test: $(lab_ours)"

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
[ -z "$(lab_ours)" ] || fail "a bad option built something: $(lab_ours)"

# --- the table: baseline, keepalive, overload:2 (coincidence), one-to-one, static.
# 4 clients x 20 requests/s over 800 ports, the report's 1 s firewall
# TIME_WAIT: enough reuses in 10 s for the spread check to have power
load=(--rate 20 --port-range 40000-40799 --fw-time-wait 1 --duration 10)
$T lab load --compare --scenario scenarios/coincidence.ini "${load[@]}" --prefix "$prefix" \
   --out "$tmp/cmp" --json > "$tmp/cmp.json" 2> "$tmp/cmp.err" || { cat "$tmp/cmp.err"; fail "compare"; }
row() { echo "[r for r in d['rows'] if r['mode'] == '$1'][0]"; }
B=$(row overload:1)
[ "$(json_get "$tmp/cmp.json" "[r['mode'] for r in d['rows']]")" = "['overload:1', 'keepalive', 'overload:2', 'one-to-one:16', 'static']" ] \
  || fail "rows: $(json_get "$tmp/cmp.json" "[r['mode'] for r in d['rows']]")"
[ "$(json_get "$tmp/cmp.json" "$B['timed_out'] > 0 and $B['collisions'] > 0")" = True ] \
  || fail "baseline without timeouts: $(json_get "$tmp/cmp.json" "$B")"
for m in static keepalive; do
  R=$(row $m)
  [ "$(json_get "$tmp/cmp.json" "($R['collisions'], $R['timed_out'], $R['requests'] > 100)")" = "(0, 0, True)" ] \
    || fail "$m: $(json_get "$tmp/cmp.json" "$R")"
done
# static: every client on its own address, as measured by conntrack
[ "$(json_get "$tmp/cmp.json" "len({a for c in $(row static)['per_client'] for a in c['snat']})")" = 4 ] \
  || fail "static: not 4 addresses"
# coincidence: all four on one address, and no better than the baseline
O=$(row overload:2)
[ "$(json_get "$tmp/cmp.json" "len({a for c in $O['per_client'] for a in c['snat']})")" = 1 ] \
  || fail "coincidence: clients not on one address: $(json_get "$tmp/cmp.json" "$O['per_client']")"
# "no better" is one-sided: fail only if overload:2 is significantly LOWER
# (its upper bound under the baseline's lower bound). Collisions come in
# bursts, so two 10 s runs of one distribution spread wider than Wilson
# intervals say; a higher overload:2 is not a claim the report makes.
# A 10 s run's spread is wider than its Wilson interval (CI saw 144 vs 195
# per 1000 for one distribution): when the pair is apart, both rows run once
# more and the test fails only if apart twice.
if [ "$(json_get "$tmp/cmp.json" "$B['ci95'][0] <= $O['ci95'][1]")" != True ]; then
  echo "  (overload:2 below the baseline once: both run again)"
  for m in overload:1 overload:2; do
    $T lab load --scenario scenarios/coincidence.ini "${load[@]}" --snat $m --prefix "$prefix" \
       --out "$tmp/again" --json > "$tmp/again-$m.json" 2>/dev/null || fail "lab load $m again"
  done
  [ "$(python3 -c "import json,sys; b=json.load(open(sys.argv[1])); o=json.load(open(sys.argv[2])); print(b['ci95'][0] <= o['ci95'][1])" "$tmp/again-overload:1.json" "$tmp/again-overload:2.json")" = True ] \
    || fail "coincidence overload:2 CI $(json_get "$tmp/cmp.json" "$O['ci95']") below baseline $(json_get "$tmp/cmp.json" "$B['ci95']"), and again"
fi
grep -q "no change: all 4 clients hash to 198.18.200.1" "$tmp/cmp.json" || fail "overload:2 verdict"
# one-to-one: the pool never put two clients' live sessions on one address
P=$(row one-to-one:16)
[ "$(json_get "$tmp/cmp.json" "$P['nat']['address_shared'] == 0 and $P['pool']['allocations'] >= 4 and $P['requests'] > 100")" = True ] \
  || fail "one-to-one: $(json_get "$tmp/cmp.json" "($P['nat'], $P['pool'])")"
# collisions counted twice, equal, in every row that ran
[ "$(json_get "$tmp/cmp.json" "all(r['paws_rejected_syns']['agree'] and r['paws_rejected_syns']['nstat'] == r['paws_rejected_syns']['capture'] for r in d['rows'])")" = True ] \
  || fail "nstat and capture disagree: $(json_get "$tmp/cmp.json" "[(r['mode'], r.get('paws_rejected_syns')) for r in d['rows']]")"
# every timeout is a collision the capture saw (strict firewall)
[ "$(json_get "$tmp/cmp.json" "all(r['timed_out'] == r['collisions'] for r in d['rows'])")" = True ] \
  || fail "timeouts != collisions"
[ -z "$(lab_ours)" ] || fail "left behind after compare: $(lab_ours)"
grep -q "overload:2: " "$tmp/cmp.err" || fail "no progress on stderr"

# --- the spread scenario: the hash puts two clients on each address: lower
$T lab load --scenario scenarios/spread.ini "${load[@]}" --prefix "$prefix" --out "$tmp/spread" --json \
   > "$tmp/spread.json" 2>/dev/null
[ "$(json_get "$tmp/spread.json" "len({a for c in d['per_client'] for a in c['snat']})")" = 2 ] || fail "spread: not 2 addresses"
[ "$(json_get "$tmp/spread.json" "d['paws_rejected_syns']['agree']")" = True ] || fail "spread: counts disagree"
lo=$(json_get "$tmp/cmp.json" "$B['ci95'][0]")
[ "$(json_get "$tmp/spread.json" "d['timeout_rate'] < $lo")" = True ] \
  || fail "spread: $(json_get "$tmp/spread.json" "d['timeout_rate']") not below the baseline's CI (lower bound $lo)"

# --- Ctrl-C: stops, still prints what it measured (exit 1), leaves nothing
$T lab load --scenario scenarios/coincidence.ini --duration 60 --prefix "$prefix" --out "$tmp/int" --json \
   > "$tmp/int.json" 2>/dev/null &
pid=$!
sleep 7
kill -INT $pid
set +e; wait $pid; rc=$?; set -e
[ $rc -eq 1 ] || fail "interrupted run: exit $rc"
[ "$(json_get "$tmp/int.json" "d['interrupted'] and d['requests'] > 0")" = True ] || fail "interrupted: $(cat "$tmp/int.json")"
[ -z "$(lab_ours)" ] || fail "left behind after Ctrl-C: $(lab_ours)"
[ -z "$(procs)" ] || fail "processes left after Ctrl-C: $(procs)"

# --- SIGKILL: the generators stop by themselves, `lab down` removes the rest
$T lab load --scenario scenarios/coincidence.ini --duration 60 --prefix "$prefix" --out "$tmp/kill" \
   >/dev/null 2>&1 &
pid=$!
sleep 7
{ kill -KILL $pid; wait $pid; } 2>/dev/null || true
$T lab down --prefix "$prefix" >/dev/null
sleep 1
[ -z "$(lab_ours)" ] || fail "lab down after SIGKILL left: $(lab_ours)"
[ -z "$(procs)" ] || fail "processes left after SIGKILL + lab down: $(procs)"
echo "lab_load: ok"
