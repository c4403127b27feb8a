#!/usr/bin/env bash
# A lab acts only on what it created (its record in /run/twlab):
#  - a second lab with the same prefix is refused and changes nothing;
#  - `lab up` returns once the server answers through the firewall;
#  - overlapping prefixes (P and Pc) do not touch each other's namespaces;
#  - a foreign namespace with the prefix (and its process) survives `lab
#    down`, `lab status` does not call it up; nor does a namespace that
#    replaced one of ours under the same name;
#  - Ctrl-C during `lab up` or `lab repro` stops it and leaves nothing;
#  - after `lab repro` is killed (SIGKILL), `lab down` removes its
#    namespaces and stops the processes it started;
#  - two `lab repro` with one prefix: the second is refused, and so is a
#    `lab down` meanwhile; the first's numbers stand; a client that cannot run is an error, not a timeout;
#  - --out and --prefix are checked as values; status/down create nothing.
set -euo pipefail
T=$(realpath "${TWLAB:-build/twlab}")
p="xo$$-"
out=$(mktemp -d /tmp/twlab-it-XXXXXX)
pids=()
cleanup() {
  for x in "${pids[@]}"; do kill "$x" 2>/dev/null || true; done
  for q in "$p" "${p}c" "${p}k" "${p}i" "${p}r"; do $T lab down --prefix "$q" >/dev/null 2>&1 || true; done
  for n in $(ip netns list | awk '{print $1}' | grep "^$p" || true); do ip netns del "$n" 2>/dev/null || true; done
  rm -rf "$out"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
st() { $T lab status --prefix "$1" --json | python3 -c "import json,sys; d=json.load(sys.stdin); print(($2))"; }
alive() { [ -e "/proc/$1" ] && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }   # a zombie is dead
mine() { ip netns list | awk '{print $1}' | grep "^$1" | sort | tr '\n' ' ' || true; }

# --- two labs, one prefix
$T lab up --prefix "$p" --out "$out/a" >/dev/null
# up means serving: the very first request through the firewall succeeds
ip netns exec "${p}c1" curl -s -o /dev/null --max-time 2 http://198.18.100.80/ || fail "server not answering right after up"
before=$(mine "$p")
set +e; $T lab up --prefix "$p" --out "$out/b" >/dev/null 2>"$out/err"; rc=$?; set -e
[ $rc -eq 1 ] || fail "second up: exit $rc"
grep -q "is up" "$out/err" || fail "second up: message: $(cat "$out/err")"
[ ! -e "$out/b" ] || fail "refused up created its --out"
[ "$(mine "$p")" = "$before" ] || fail "refused up changed the namespaces: '$before' -> '$(mine "$p")'"
[ "$(st "$p" 'd["up"], d["namespaces"]')" = "(True, 5)" ] || fail "first lab not intact"
ip netns exec "${p}c1" curl -s -o /dev/null --max-time 2 http://198.18.100.80/ || fail "first lab's server gone"
set +e; $T lab probe --prefix "$p" --count 1 --out "$out/pr" >/dev/null 2>&1; rc=$?; set -e
[ $rc -eq 1 ] && [ "$(mine "$p")" = "$before" ] || fail "probe on a held prefix: exit $rc, namespaces '$(mine "$p")'"

# --- overlapping prefixes: P and Pc (P's client namespaces are Pc1, Pc2)
$T lab up --prefix "${p}c" --out "$out/c" >/dev/null
server=$(ip netns pids "${p}srv")
[ -n "$server" ] || fail "no server process in ${p}srv"
$T lab down --prefix "$p" >/dev/null
sleep 0.3
for x in $server; do alive "$x" && fail "lab down left the server ($x) running"; done
[ "$(st "${p}c" 'd["up"], d["namespaces"]')" = "(True, 5)" ] || fail "down of $p touched ${p}c: $(mine "$p")"
[ "$(st "$p" 'd["up"]')" = False ] || fail "$p still up"
[ "$(mine "$p")" = "$(mine "${p}c")" ] || fail "$p left namespaces: $(mine "$p")"
$T lab down --prefix "${p}c" >/dev/null
[ -z "$(mine "$p")" ] || fail "left: $(mine "$p")"

# --- a foreign namespace with the prefix, and a process in it
ip netns add "${p}zzmine"
ip netns exec "${p}zzmine" sleep 300 & pids+=($!); sp=$!
[ "$(st "$p" 'd["up"], d["not_ours"]')" = "(False, '${p}zzmine')" ] || fail "status of a foreign namespace: $(st "$p" d)"
$T lab down --prefix "$p" >/dev/null
ip netns list | grep -q "^${p}zzmine" || fail "lab down removed a foreign namespace"
alive $sp || fail "lab down killed a foreign process"
kill $sp; ip netns del "${p}zzmine"

# --- one of ours replaced by a stranger under the same name: not ours any more
$T lab up --prefix "$p" --out "$out/d" >/dev/null
ip netns del "${p}fw"; ip netns add "${p}fw"
[ "$(st "$p" 'd["up"], d["missing"]')" = "(False, 1)" ] || fail "status with a replaced namespace: $(st "$p" d)"
$T lab down --prefix "$p" >/dev/null
[ "$(mine "$p")" = "${p}fw " ] || fail "down with a replaced namespace: '$(mine "$p")'"
ip netns del "${p}fw"

# --- Ctrl-C during lab up (8 clients: long enough to be caught building)
printf '[lab]\nclients = 8\n' > "$out/eight.ini"
$T lab up --prefix "${p}i" --scenario "$out/eight.ini" --out "$out/i" >/dev/null 2>"$out/err" & up=$!
for _ in $(seq 100); do [ -e "/run/twlab/lab-${p}i.rec" ] && break; sleep 0.02; done
kill -INT $up
set +e; wait $up; rc=$?; set -e
[ $rc -eq 1 ] && grep -q interrupted "$out/err" || fail "Ctrl-C during up: exit $rc: $(cat "$out/err")"
[ -z "$(mine "${p}i")" ] || fail "Ctrl-C during up left: $(mine "${p}i")"
[ ! -e "/run/twlab/lab-${p}i.rec" ] || fail "Ctrl-C during up left its record"

# --- Ctrl-C during lab repro (while it waits between its rounds of fetches)
$T lab repro --prefix "${p}i" --out "$out/ri" --json >"$out/ri.json" 2>"$out/err" & up=$!
for _ in $(seq 200); do [ -e "$out/ri/attempt-2.txt" ] && break; sleep 0.05; done
started=$(for n in $(mine "${p}i"); do ip netns pids "$n"; done | sort -u)
[ -n "$started" ] || fail "repro to interrupt did not start: $(cat "$out/err")"
t0=$(date +%s%N)
kill -INT $up
set +e; wait $up; rc=$?; set -e
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ $rc -eq 1 ] && grep -q interrupted "$out/err" && [ ! -s "$out/ri.json" ] || fail "Ctrl-C during repro: exit $rc: $(cat "$out/err")"
[ $ms -lt 5000 ] || fail "Ctrl-C during repro took $ms ms"
[ -z "$(mine "${p}i")" ] || fail "Ctrl-C during repro left: $(mine "${p}i")"
for x in $started; do alive "$x" && fail "Ctrl-C during repro left process $x"; done

# --- two repros with one prefix; then SIGKILL one and clean up after it
$T lab repro --prefix "${p}r" --out "$out/r1" --json > "$out/r1.json" 2>"$out/r1.err" & r1=$!; pids+=($r1)
for _ in $(seq 100); do [ "$(st "${p}r" 'd["in_use"]')" = True ] && break; sleep 0.1; done
set +e; $T lab repro --prefix "${p}r" --out "$out/r2" --json > "$out/r2.json" 2>"$out/err"; rc=$?; set -e
[ $rc -eq 1 ] && grep -q "in use" "$out/err" && [ ! -s "$out/r2.json" ] && [ ! -e "$out/r2" ] \
  || fail "second repro: exit $rc: $(cat "$out/err")"
# nor can `lab down` pull the lab from under the running repro
set +e; $T lab down --prefix "${p}r" >/dev/null 2>"$out/err"; rc=$?; set -e
[ $rc -eq 1 ] && grep -q "in use" "$out/err" || fail "down of a lab in use: exit $rc: $(cat "$out/err")"
wait $r1 || fail "first repro failed: $(cat "$out/r1.err")"
python3 - "$out/r1.json" <<'PY' || exit 1
import json, sys
d = json.load(open(sys.argv[1]))
if d["requests"] != 4 or d["collisions"] < 1 or d["timed_out"] != d["collisions"]:
    sys.exit(f"FAIL: the surviving repro's numbers: {d}")
PY
[ -z "$(mine "${p}r")" ] || fail "repro left: $(mine "${p}r")"

$T lab repro --prefix "${p}k" --out "$out/k" --json >/dev/null 2>&1 & k=$!; pids+=($k)
for _ in $(seq 150); do [ "$(st "${p}k" 'd["processes"]')" -ge 5 ] && break; sleep 0.1; done   # server + 4 tcpdumps
started=$(for n in $(mine "${p}k"); do ip netns pids "$n"; done | sort -u)
[ -n "$started" ] || fail "repro to kill did not start"
kill -KILL $k; wait $k 2>/dev/null || true
[ "$(st "${p}k" 'd["up"]')" = True ] || fail "killed repro: lab not left up?"
$T lab down --prefix "${p}k" >/dev/null
[ -z "$(mine "${p}k")" ] || fail "down after SIGKILL left: $(mine "${p}k")"
sleep 0.5
for x in $started; do
  alive "$x" && grep -qE 'tcpdump|python3' "/proc/$x/cmdline" 2>/dev/null && fail "process $x ($(tr '\0' ' ' < /proc/$x/cmdline)) survived lab down"
done
[ ! -e "/run/twlab/lab-${p}k.rec" ] || fail "record left after down"

# --- a client that cannot run is an error, never a timeout: client-2's
# namespace disappears between the first and the second round of fetches
$T lab repro --prefix "${p}r" --out "$out/r3" --json > "$out/r3.json" 2>"$out/err" & r3=$!; pids+=($r3)
for _ in $(seq 200); do [ -e "$out/r3/attempt-2.txt" ] && break; sleep 0.05; done
[ -e "$out/r3/attempt-2.txt" ] || fail "repro r3 made no fetches: $(cat "$out/err")"
ip netns del "${p}rc2"
set +e; wait $r3; rc=$?; set -e
[ $rc -eq 1 ] && [ ! -s "$out/r3.json" ] || fail "repro without a client: exit $rc, stdout $(cat "$out/r3.json")"
grep -q "twlab: lab: repro: client-2: " "$out/err" || fail "repro without a client: $(cat "$out/err")"
[ -z "$(mine "${p}r")" ] || fail "left: $(mine "${p}r")"

# --- --out and --prefix as values; status and down create nothing
mkdir "$out/full"; touch "$out/full/x" "$out/file"
for o in "$out/file" "$out/full" "$out/$(printf 'x%.0s' $(seq 450))"; do
  set +e; $T lab up --prefix "$p" --out "$o" >/dev/null 2>"$out/err"; rc=$?; set -e
  [ $rc -eq 2 ] && grep -q -- "--out" "$out/err" || fail "--out ${o:0:60}...: exit $rc: $(cat "$out/err")"
done
[ -z "$(mine "$p")" ] || fail "a bad --out built namespaces"
for q in 'ab;c' 'a b' "$(printf 'a\nclients = 9')" '' 'abcdefghijkl' '../x'; do
  set +e; $T lab status --prefix "$q" >/dev/null 2>&1; rc=$?; set -e
  [ $rc -eq 2 ] || fail "--prefix '$q': exit $rc"
done
(cd "$out" && mkdir cwd && cd cwd && $T lab status --prefix "$p" >/dev/null && $T lab down --prefix "$p" >/dev/null \
  && [ -z "$(ls -A)" ]) || fail "status/down created files in the working directory"
echo "lab_owner: ok"
