#!/usr/bin/env bash
# sim_vs_lab.sh - the short version of bench/sim-vs-lab for CI: two scenario
# rows (a colliding overload pool and static SNAT) run by `twlab lab load`
# on this kernel and by `twlab sim`; the simulated rates must fall inside the
# lab's 95% intervals. Needs root and `lab load` (scenarios/spread.ini,
# scenarios/coincidence.ini come with it).
set -euo pipefail
TWLAB=${TWLAB:-build/twlab}
if ! "$TWLAB" lab load --help >/dev/null 2>&1 || [ ! -f scenarios/spread.ini ]; then
	echo "SKIP: this tree has no 'twlab lab load' yet (merge it to run sim vs lab)"
	exit 0
fi
TWLAB=$TWLAB SEEDS=${SEEDS:-10} bash bench/sim-vs-lab --short
echo "sim_vs_lab: ok"
