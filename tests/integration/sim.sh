#!/usr/bin/env bash
# sim.sh - `twlab sim` against arithmetic, against analyze, and its CLI
# contract. No root needed: the simulator touches no network.
#  1. a NAT that picks ports uniformly (random-fully) from R = 64512: SYNs
#     that find TIME_WAIT per connection = 1 - exp(-lambda*T/R) within 2%
#  2. port preservation: upstream 3.10 clients (+1 over both parities) hit
#     TIME_WAIT about half as often as 4.6-5.11 clients (+2, even ports)
#  3. twlab analyze on sim --pcap finds exactly the sim's collisions,
#     causes and outcomes (strict firewall: timeouts; linux: delays)
#  4. --compare / --sweep / --plot shapes; bad input -> exit 2 + reason
set -euo pipefail
TWLAB=${TWLAB:-build/twlab}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
jget() { python3 -c "import json,sys; d=json.load(open('$1')); print($2)"; }

# 1. arithmetic: 20 clients x 1/s on one address, random ports, no NAT hold
$TWLAB sim --snat random-fully --clients 20 --rate 1 --duration 61000 --fw-time-wait 0 \
	--json > "$tmp/u.json"
python3 - "$tmp/u.json" <<'PY' || fail "uniform-port NAT vs 1-exp(-lambda T/R)"
import json, math, sys
d = json.load(open(sys.argv[1]))
n, hits = d["connections"], d["time_wait"]["port_reuses"]
lam, T, R = 20.0, 60.0, 65535 - 1024 + 1
want = 1 - math.exp(-lam * T / R)
got = hits / n
print(f"uniform ports: {got:.5f} simulated vs {want:.5f} formula, ratio {got/want:.4f} ({n} connections)")
sys.exit(0 if abs(got / want - 1) < 0.02 else 1)
PY

# 2. 3.10 (+1) vs 4.19 (+2 even), port kept by the NAT, 5 seeds each
for k in 3.10.99 4.19.124; do
	for s in 1 2 3 4 5; do
		$TWLAB sim --snat overload:1 --clients 50 --rate 0.2 --duration 20000 --fw-time-wait 1 \
			--client-kernel $k --seed $s --json > "$tmp/p-$k-$s.json"
	done
done
python3 - "$tmp" <<'PY' || fail "3.10 vs 4.19 port allocators"
import json, sys, glob
def rate(k):
    n = h = 0
    for f in glob.glob(f"{sys.argv[1]}/p-{k}-*.json"):
        d = json.load(open(f)); n += d["connections"]; h += d["time_wait"]["port_reuses"]
    return h / n
a, b = rate("3.10.99"), rate("4.19.124")
print(f"port preserved: 3.10 {a:.4f}, 4.19 {b:.4f}, ratio {a/b:.3f}")
sys.exit(0 if 0.25 <= a / b <= 0.65 else 1)
PY

# 3. analyze reads the sim's packets and finds the same collisions
for fw in strict linux; do
	$TWLAB sim --clients 20 --rate 1 --duration 600 --fw-time-wait 1 --firewall $fw \
		--pcap "$tmp/$fw.pcap" --json > "$tmp/$fw.json"
	$TWLAB analyze "$tmp/$fw.pcap" --json > "$tmp/$fw.an.json"
	python3 - "$tmp/$fw.json" "$tmp/$fw.an.json" $fw <<'PY' || fail "analyze on sim --pcap ($fw)"
import json, sys
s = json.load(open(sys.argv[1])); a = json.load(open(sys.argv[2]))["summary"]
pairs = [("collisions", "collisions"), ("collisions_paws", "collisions_paws"),
         ("collisions_seq", "collisions_seq"), ("timed_out", "timed_out"), ("delayed", "recovered")]
print(sys.argv[3], "sim vs analyze:", ", ".join(f"{x} {s[x]}/{a[y]}" for x, y in pairs))
ok = s["collisions"] > 0 and all(s[x] == a[y] for x, y in pairs) and a["outcome_unknown"] == 0
sys.exit(0 if ok else 1)
PY
done

# --from-capture: the fleet back from the sim's own capture (6.1 clients:
# random port steps and one clock per host pair, so analyze counts hosts)
$TWLAB sim --clients 12 --rate 1 --duration 1800 --client-kernel 6.1.119 --fw-time-wait 1 \
	--pcap "$tmp/fc.pcap" --json > "$tmp/fc.json"
$TWLAB sim --from-capture "$tmp/fc.pcap" --client-kernel 6.1.119 --fw-time-wait 1 --json > "$tmp/fc.out.json"
python3 - "$tmp/fc.out.json" <<'PY' || fail "--from-capture"
import json, sys
d = json.load(open(sys.argv[1])); sc = d["scenario"]
print(f"from capture: {sc['clients']} clients x {sc['rate']:.3f}/s, observed {d['observed']['collision_rate']:.4f}, "
      f"simulated {d['simulated']['collision_rate']:.4f}, reproduces {d['reproduces']}")
assert sc["clients"] == 12 and abs(sc["rate"] - 1) < 0.05 and sc["firewall"] == "strict"
assert d["reproduces"] and len(d["rows"]) >= 7
PY
set +e; $TWLAB sim --from-capture 2> "$tmp/err" >/dev/null; rc=$?; set -e
[ $rc -eq 2 ] && grep -q "no capture files" "$tmp/err" || fail "--from-capture without files: exit $rc"

# 4. --compare rows, --sweep CSV, --plot SVG
$TWLAB sim --clients 4 --rate 2 --duration 3000 --compare --json > "$tmp/c.json"
python3 - "$tmp/c.json" <<'PY' || fail "--compare rows"
import json, sys
rows = {r["mode"]: r for r in json.load(open(sys.argv[1]))["rows"]}
need = ["overload:1", "overload:2", "one-to-one:16", "static", "masquerade", "random-fully", "keepalive"]
assert all(m in rows for m in need), rows.keys()
for r in rows.values():
    assert {"requests", "collisions", "timed_out", "timeout_rate", "ci95"} <= r.keys()
    lo, hi = r["ci95"]; assert lo <= r["timeout_rate"] <= hi
assert rows["static"]["collisions"] == 0 and rows["keepalive"]["collisions"] == 0
assert rows["overload:1"]["collisions"] > 0
PY
$TWLAB sim --clients 4 --duration 600 --sweep rate=1:3:1 --plot "$tmp/p.svg" > "$tmp/s.csv"
[ "$(wc -l < "$tmp/s.csv")" -eq 4 ] || fail "--sweep: 3 rows + header expected"
head -1 "$tmp/s.csv" | grep -q '^param,value,requests,collisions,collision_rate' || fail "--sweep header"
grep -q '<svg' "$tmp/p.svg" || fail "--plot: no SVG written"

# bad input: exit 2, reason on stderr, nothing on stdout
bad() {
	local want=$1; shift
	set +e; $TWLAB sim "$@" > "$tmp/out" 2> "$tmp/err"; rc=$?; set -e
	[ $rc -eq 2 ] || fail "sim $*: exit $rc, want 2"
	grep -q "^twlab: sim: .*$want" "$tmp/err" || fail "sim $*: stderr '$(cat "$tmp/err")' lacks '$want'"
	[ ! -s "$tmp/out" ] || fail "sim $*: wrote to stdout"
}
bad "unknown mode" --snat nat44
bad "at least 1" --snat one-to-one:0
bad "--rate" --rate -1
bad "pool smaller than needed" --clients 2000 --rate 50
bad "at least 1" --clients 0
printf '[lab]\nclients = 0\n' > "$tmp/noclients.ini"
set +e; $TWLAB sim --scenario "$tmp/noclients.ini" 2> "$tmp/err" >/dev/null; rc=$?; set -e
[ $rc -eq 2 ] && grep -q "clients" "$tmp/err" || fail "a scenario with no clients: exit $rc, $(cat "$tmp/err")"
$TWLAB sim --help | grep -- "--compare" >/dev/null || fail "--help"
# determinism: the same seed gives the same JSON (minus wall-clock figures)
for i in 1 2; do $TWLAB sim --clients 10 --rate 2 --duration 900 --seed 42 --json |
	python3 -c "import json,sys; d=json.load(sys.stdin); d.pop('perf'); print(json.dumps(d, sort_keys=True))" > "$tmp/d$i"; done
cmp -s "$tmp/d1" "$tmp/d2" || fail "--seed: two runs differ"
echo "sim: ok"
