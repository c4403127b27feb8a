#!/usr/bin/env bash
# install: `make install DESTDIR=... PREFIX=/usr/local` puts every file where
# Debian's tools look for it; the installed binary finds its installed
# scenario files by name; the man pages render without warnings and lexgrog
# reads them; --help and the man pages agree on every option of every
# subcommand the binary reports; bash completion offers commands, actions,
# options, kernel profiles and scenario names; `make uninstall` removes it
# all. No network, no root needed beyond writing build/.
set -euo pipefail
cd "$(dirname "$0")/../.."
fail() { echo "FAIL: $*" >&2; exit 1; }
D=$(mktemp -d "${TMPDIR:-/tmp}/twlab-install.XXXXXX")
trap 'rm -rf "$D"' EXIT
P=/usr/local
R=$D$P

make -s install DESTDIR="$D" PREFIX=$P >/dev/null
for f in bin/twlab share/man/man1/twlab.1 share/man/man1/twlab-analyze.1 \
         share/man/man5/twlab-scenario.5 share/twlab/scenarios/report.ini \
         share/bash-completion/completions/twlab share/zsh/site-functions/_twlab \
         lib/systemd/system/twlab-trace.service lib/tmpfiles.d/twlab.conf share/doc/twlab/README.md; do
  [ -f "$R/$f" ] || fail "not installed: $P/$f"
done
[ -x "$R/bin/twlab" ] || fail "twlab not executable"
echo "installed: $(cd "$D" && find . -type f | wc -l) files under $P"

# --version: version, libraries, every kernel rule, the install's scenarios
v=$("$R/bin/twlab" --version)
grep -qE '^twlab [0-9]' <<<"$v" || fail "--version first line: $(head -1 <<<"$v")"
grep -q '^built with: .*libpcap [0-9].*libbpf [0-9].*jansson [0-9].*inih [0-9]' <<<"$v" || fail "--version libraries"
for k in rhel7.7 3.10 4.19 5.10 6.1 6.12 6.18 host; do
  grep -qE "^  $k " <<<"$v" || fail "--version does not list kernel rules $k"
done
grep -q "^scenario dir: $P/share/twlab/scenarios$" <<<"$v" || fail "--version scenario dir"

# --scenario NAME finds the installed file (here through the executable's
# own ../share/twlab/scenarios, DESTDIR not being /): change the installed
# copy and see the change
pre="xx$$-"
sed -i "s/^prefix = .*/prefix = $pre/" "$R/share/twlab/scenarios/report.ini"
out=$("$R/bin/twlab" lab up --scenario report --dry-run --out "$D/out" 2>&1)
grep -q "ip netns add ${pre}fw" <<<"$out" || fail "--scenario report did not read the installed file"
# ... and TWLAB_SCENARIO_PATH first; a path stays a path
mkdir -p "$D/scen"
printf '[lab]\nprefix = yy%s-\n' $$ > "$D/scen/mine.ini"
out=$(TWLAB_SCENARIO_PATH="$D/nowhere:$D/scen" "$R/bin/twlab" lab up --scenario mine --dry-run --out "$D/out" 2>&1)
grep -q "ip netns add yy$$-fw" <<<"$out" || fail "TWLAB_SCENARIO_PATH name lookup"
out=$("$R/bin/twlab" lab up --scenario "$D/scen/mine.ini" --dry-run --out "$D/out" 2>&1)
grep -q "ip netns add yy$$-fw" <<<"$out" || fail "--scenario PATH"
set +e; err=$("$R/bin/twlab" lab up --scenario nosuch --dry-run --out "$D/out" 2>&1 >/dev/null); rc=$?; set -e
[ $rc -eq 2 ] || fail "unknown scenario name: exit $rc"
grep -q "^twlab: lab: --scenario: 'nosuch': no such file.*names: .*report" <<<"$err" || fail "unknown scenario message: $err"
"$R/bin/twlab" --version | grep -E '^scenarios: .*\breport\b' >/dev/null || fail "--version does not list the installed scenario"

# man pages: render without warnings, lexgrog finds a NAME line, man finds
# them through MANPATH, and they have the sections a man page needs
for m in "$R"/share/man/man*/*; do
  w=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l "$m" 2>&1 >/dev/null)
  [ -z "$w" ] || fail "man --warnings $(basename "$m"): $w"
  lexgrog "$m" >/dev/null || fail "lexgrog $(basename "$m")"
done
MANPATH=$R/share/man man -w twlab-analyze | grep -q "$R/share/man/man1/twlab-analyze.1" || fail "man -w twlab-analyze"
MANPATH=$R/share/man MANWIDTH=80 man twlab-analyze 2>/dev/null | grep 'EXIT STATUS' >/dev/null || fail "man twlab-analyze"
echo "man pages: $(ls "$R"/share/man/man*/ | grep -c '\.[15]$') render clean"

# every setting the shipped scenario files use is in twlab-scenario(5)
for ini in scenarios/*.ini; do
  sec=
  while IFS= read -r line; do
    case $line in
      \[*\]) sec=${line#[}; sec=${sec%]} ;;
      [a-z]*=*) key=${line%%=*}; key=${key%% }
        grep -qF "*[$sec] $key*" man/twlab-scenario.5.scd || fail "twlab-scenario(5) does not describe [$sec] $key ($ini)" ;;
    esac
  done < "$ini"
done

# --help and man agree (driven by what the binary reports)
python3 tests/integration/help_man.py "$R/bin/twlab" man

# bash completion, as bash-completion loads it
comp() {
  PATH="$R/bin:$PATH" bash -c '
    source /usr/share/bash-completion/bash_completion
    source "$0"
    COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
    _twlab; printf "%s\n" "${COMPREPLY[@]}"' "$R/share/bash-completion/completions/twlab" "$@"
}
words() { comp "$@" | tr '\n' ' '; }   # all offered words on one line
[ "$(words twlab ex)" = "explain " ] || fail "completion: command"
[ "$(words twlab lab st)" = "status " ] || fail "completion: lab action"
# every profile `twlab --version` lists (the set grows; host last)
kernels="$("$R/bin/twlab" --version | awk '/^kernel rules/ { f = 1; next } f && /^  / { printf "%s ", $1; next } f { exit }')"
case "$kernels" in *"3.10 "*"6.18 "*"host ") ;; *) fail "--version: kernel profiles: $kernels";; esac
w=$(words twlab explain tw --kernel ""); [ "$w" = "$kernels" ] || fail "completion: kernels: $w"
w=$(words twlab lab up --scenario ""); [[ " $w" == *" report "* ]] || fail "completion: scenario names: $w"
w=$(words twlab trace --p); [ "$w" = "--prom " ] || fail "completion: trace --p: $w"
w=$(words twlab explain synsent --ts-); [ "$w" = "--ts-now --ts-sent " ] || fail "completion: explain synsent --ts-: $w"
w=$(words twlab lab repro --firewall ""); [ "$w" = "linux strict " ] || fail "completion: --firewall values: $w"
w=$(words twlab explain tw --seq ""); [ -z "${w// }" ] || fail "completion: offered words for a number: $w"
touch "$D/scen/cap.pcap"
w=$(cd "$D/scen" && words twlab analyze ""); [ "$w" = "cap.pcap " ] || fail "completion: analyze files: $w"
# every command (and each of its actions) gets option words
for cmd in $("$R/bin/twlab" --help | awk '/^commands:/ { f = 1; next } f && /^  [a-z]/ { print $1 }'); do
  o=$(comp twlab "$cmd" --)
  if ! grep -qv -- '^--help$' <<<"$o"; then   # a command with actions
    acts=$(cd "$D/scen" && comp twlab "$cmd" "" | grep -v '^-' || true)
    [ -n "$acts" ] || fail "completion: neither options nor actions for $cmd"
    for a in $acts; do
      o=$(comp twlab "$cmd" "$a" --)
      grep -qv -- '^--help$' <<<"$o" || fail "completion: no options for $cmd $a"
    done
  fi
done
echo "bash completion: ok"
# zsh: the function's logic, with zsh's completion builtins stubbed to print
# what they would offer (compadd words, _describe names, _files)
zcomp() {
  PATH="$R/bin:$PATH" zsh -f -c '
    compadd() { local a past=0; for a; do if (( past )) || [[ $a != -* ]]; then print -r -- $a; fi; [[ $a == -- ]] && past=1; done; }
    _describe() { local n=${@[-1]}; print -rl -- ${${(P)n}%%:*}; }
    _files() { print -r -- "(files)"; }
    _values() { shift 1; print -rl -- "$@"; }
    f=$1; shift; words=("$@"); CURRENT=$#; PREFIX=${words[-1]}
    source $f; true' zsh "$R/share/zsh/site-functions/_twlab" "$@" 2>&1 | head -c 4000 | tr '\n' ' '
}
if command -v zsh >/dev/null; then
  zsh -n "$R/share/zsh/site-functions/_twlab" || fail "zsh completion syntax"
  w=$(zcomp twlab ""); [ "$w" = "explain analyze trace lab craft sim --help --version " ] || fail "zsh: commands: $w"
  w=$(zcomp twlab lab ""); [ "$w" = "down load probe repro status up " ] || fail "zsh: lab actions: $w"
  w=$(zcomp twlab explain tw --kernel ""); [ "$w" = "$kernels" ] || fail "zsh: kernels: $w"
  w=$(zcomp twlab trace --); [[ $w == *" --prom "* && $w == "--help "* ]] || fail "zsh: trace options: $w"
  w=$(zcomp twlab lab up --scenario ""); [[ " $w" == *" report "* ]] || fail "zsh: scenario names: $w"
  w=$(zcomp twlab analyze ""); [ "$w" = "(files) " ] || fail "zsh: analyze files: $w"
  echo "zsh completion: ok"
fi

# systemd unit: points at the installed binary, writes into node_exporter's
# textfile directory, keeps only the BPF capabilities
u=$R/lib/systemd/system/twlab-trace.service
grep -qx "ExecStart=$P/bin/twlab trace --quiet --prom /var/lib/prometheus/node-exporter/twlab.prom" "$u" || fail "unit ExecStart: $(grep ExecStart= "$u")"
grep -qx 'CapabilityBoundingSet=CAP_BPF CAP_PERFMON' "$u" || fail "unit capabilities"
grep -qx 'ProtectSystem=strict' "$u" || fail "unit ProtectSystem"
if command -v systemd-analyze >/dev/null; then
  # the only complaint allowed: the binary is not at $P/bin yet (DESTDIR)
  out=$(systemd-analyze verify --man=no "$u" 2>&1 | grep -v "Command $P/bin/twlab is not executable" || true)
  [ -z "$out" ] || fail "systemd-analyze verify: $out"
  exp=$(systemd-analyze security --offline=yes "$u" 2>/dev/null | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
  echo "unit: systemd-analyze security exposure $exp (0 = fully sandboxed, 10 = not at all)"
  awk -v e="$exp" 'BEGIN { exit !(e != "" && e + 0 <= 2.0) }' || fail "unit exposure ${exp:-?} > 2.0"
fi

make -s uninstall DESTDIR="$D" PREFIX=$P >/dev/null
left=$(cd "$D" && find . -path ./out -prune -o -path ./scen -prune -o -type f -print)
[ -z "$left" ] || fail "uninstall left: $left"
echo "install: ok"
