#!/usr/bin/env bash
# lab repro end to end with the real kernel: the strict firewall turns a
# TIME_WAIT collision into a client timeout; plain Linux conntrack lets the
# bare ACK through and the client recovers (delayed). Nothing is left behind.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
lab_init tr
[ -z "$(lab_ours)" ] || fail "leftovers before the test: $(lab_ours)"

$T lab repro --firewall strict --prefix "$prefix" --out "$tmp/strict" --json > "$tmp/strict.json"
[ "$(json_get "$tmp/strict.json" 'd["timed_out"] >= 1')" = True ] || fail "strict: no timeout: $(cat "$tmp/strict.json")"
[ "$(json_get "$tmp/strict.json" 'd["collisions"] >= 1')" = True ] || fail "strict: no collision"
[ "$(json_get "$tmp/strict.json" 'd["collisions_paws"] == d["collisions"]')" = True ] || fail "strict: cause"
# every collision was modelled (so the check below cannot pass on nothing), and
# every modelled attempt: the model agrees with what the server did
modelled='(lambda m: len(m) >= 2 and all("model" in a for a in d["attempts"] if a["collision"]) and all(a["model"]["agrees"] for a in m))([a for a in d["attempts"] if "model" in a])'
[ "$(json_get "$tmp/strict.json" "$modelled")" = True ] \
  || fail "strict: model missing or disagreeing with the kernel: $(cat "$tmp/strict.json")"
# the nft rules do what fw_reply_passes() says: the bare ACK is dropped
[ "$(json_get "$tmp/strict.json" 'd["firewall_model_agrees"] == d["firewall_model_judged"] >= 3')" = True ] \
  || fail "strict: firewall model vs nft: $(cat "$tmp/strict.json")"
# the kernel as the oracle: the server namespace's TIME_WAIT PAWS counter
# moved by exactly the SYNs the model PAWS-rejects (each a bare ACK)
oracle='d["kernel_paws"] is not None and d["kernel_paws"] >= 1 and d["kernel_paws"] == d["model_paws_syns"]'
[ "$(json_get "$tmp/strict.json" "$oracle")" = True ] \
  || fail "strict: server PAWS counter vs model: $(json_get "$tmp/strict.json" '(d["kernel_paws"], d["model_paws_syns"])')"
for c in client-1 client-2 firewall server; do
  f=$(json_get "$tmp/strict.json" "d['captures']['$c']")
  [ -s "$f" ] || fail "capture $c missing"
done

$T lab repro --firewall linux --prefix "$prefix" --out "$tmp/linux" --json > "$tmp/linux.json"
[ "$(json_get "$tmp/linux.json" 'd["timed_out"]')" = 0 ] || fail "linux: timed out: $(cat "$tmp/linux.json")"
[ "$(json_get "$tmp/linux.json" 'd["delayed"] >= 1')" = True ] || fail "linux: nothing delayed"
[ "$(json_get "$tmp/linux.json" 'd["collisions"] >= 1')" = True ] || fail "linux: no collision"
[ "$(json_get "$tmp/linux.json" "$modelled")" = True ] \
  || fail "linux: model missing or disagreeing with the kernel: $(cat "$tmp/linux.json")"
[ "$(json_get "$tmp/linux.json" 'd["firewall_model_agrees"] == d["firewall_model_judged"] >= 3')" = True ] \
  || fail "linux: firewall model vs conntrack"
[ "$(json_get "$tmp/linux.json" "$oracle")" = True ] \
  || fail "linux: server PAWS counter vs model: $(json_get "$tmp/linux.json" '(d["kernel_paws"], d["model_paws_syns"])')"
# the fast retry after the client's RST, measured in its capture (ms, not s)
[ "$(json_get "$tmp/linux.json" '0 < d["rst_to_syn_ms"] < 500')" = True ] || fail "linux: RST -> SYN delay"

[ -z "$(lab_ours)" ] || fail "left behind: $(lab_ours)"

# lab up / status / down
$T lab up --prefix "$prefix" --out "$tmp/up" >/dev/null
[ "$($T lab status --prefix "$prefix" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["namespaces"])')" = 5 ] \
  || fail "status after up"
$T lab down --prefix "$prefix" >/dev/null
[ "$($T lab status --prefix "$prefix" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["up"])')" = False ] \
  || fail "status after down"
# a namespace with the prefix that the lab did not create is not the lab's
# (lab_owner.sh tests that, and cleaning up after a killed run, in depth)
t_on_exit 'ip netns del "${prefix}fw"'
ip netns add "${prefix}fw"
$T lab down --prefix "$prefix" >/dev/null
[ "$(lab_ours)" = "${prefix}fw" ] || fail "down touched a namespace it did not create: $(lab_ours)"
ip netns del "${prefix}fw"

# usage errors
set +e
$T lab repro --firewall bogus >/dev/null 2>&1; [ $? -eq 2 ] || fail "--firewall bogus"
$T lab repro --reuses 0 >/dev/null 2>&1; [ $? -eq 2 ] || fail "--reuses 0"
$T lab nothing >/dev/null 2>&1; [ $? -eq 2 ] || fail "lab nothing"
set -e
echo "lab_repro: ok"
