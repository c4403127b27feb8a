#!/usr/bin/env python3
"""--help and the man pages agree on every option, for every subcommand the
binary reports.

usage: help_man.py TWLAB MANDIR     (MANDIR holds the *.scd sources)

Commands come from `twlab --help` ("commands:" list), a command's actions
from the usage block of `twlab CMD --help` ("twlab lab up|down|...",
"twlab craft syn ..."). The options of a command are those its help texts
(the command's and each action's) *define*: every option in the usage block,
and the leading options of an indented line that starts with '-'. The page
of command CMD is man/twlab-CMD.1.scd (plus man/twlab-CMD-*.1.scd if an
action has its own); it defines an option by an OPTIONS line starting with
*--opt* (or *-v*, *--verbose*).

Fails when: a command has no page; an option --help defines is not defined
in the page; the page defines an option that --help never mentions; a help
text does not exit 0 on stdout; a page lacks a required section.
"""
import glob
import os
import re
import subprocess
import sys

OPT = re.compile(r'(?<![\w-])--?[A-Za-z][A-Za-z0-9-]*')
SECTIONS = ["NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "EXIT STATUS",
            "EXAMPLES", "FILES", "SEE ALSO"]
SEE_ALSO = ["tcpdump", "nstat", "conntrack", "bpftool"]

twlab, mandir = sys.argv[1], sys.argv[2]
failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL: " + msg)


def help_text(*args):
    r = subprocess.run([twlab, *args, "--help"], capture_output=True, text=True)
    if r.returncode != 0 or not r.stdout.strip():
        fail("`twlab %s --help` exited %d with %d bytes on stdout"
             % (" ".join(args), r.returncode, len(r.stdout)))
    return r.stdout


def usage_block(text):
    block = []
    for line in text.splitlines():
        if not line.strip():
            break
        block.append(line)
    return "\n".join(block)


def defined_options(text):
    """Options a help text defines: usage block + leading option lines."""
    opts = set(OPT.findall(usage_block(text)))
    for line in text.splitlines():
        s = line.lstrip()
        if line[:1] in (" ", "\t") and s.startswith("-"):
            opts.update(OPT.findall(s.split("  ")[0]))
    return opts


def mentioned_options(text):
    return set(OPT.findall(text))


def man_options(path):
    """Options a page defines: lines in an OPTIONS section starting with *-"""
    opts, in_opts = set(), False
    for line in open(path, encoding="utf-8"):
        if line.startswith("# "):
            in_opts = line[2:].strip().startswith("OPTIONS")
            continue
        if in_opts and line.startswith("*-"):
            opts.update(re.findall(r'\*(--?[A-Za-z][A-Za-z0-9-]*)\*', line))
    return opts


def check_sections(path, subcommand):
    text = open(path, encoding="utf-8").read()
    heads = re.findall(r'^# (.+)$', text, re.M)
    for s in SECTIONS:
        if s not in heads:
            fail("%s: no %s section" % (os.path.basename(path), s))
    if subcommand:
        see = text.split("# SEE ALSO", 1)[-1]
        for p in SEE_ALSO:
            if "*%s*(" % p not in see:
                fail("%s: SEE ALSO does not name %s" % (os.path.basename(path), p))


def compare(name, helps, pages):
    defined, mentioned, in_man = set(), set(), set()
    for h in helps:
        defined |= defined_options(h)
        mentioned |= mentioned_options(h)
    defined.add("--help")     # every command has it (DESIGN.md)
    mentioned.add("--help")
    for p in pages:
        in_man |= man_options(p)
    for o in sorted(defined - in_man):
        fail("%s: --help lists %s, the man page (%s) does not define it"
             % (name, o, ", ".join(os.path.basename(p) for p in pages)))
    for o in sorted(in_man - mentioned):
        fail("%s: the man page defines %s, --help does not mention it" % (name, o))
    print("%-10s %2d options in --help, %2d in the man page" % (name, len(defined), len(in_man)))
    return defined


top = help_text()
commands = []
in_list = False
for line in top.splitlines():
    if line.startswith("commands:"):
        in_list = True
        continue
    m = re.match(r'^  ([a-z][a-z0-9-]*)\s', line)
    if in_list and m:
        commands.append(m.group(1))
if not commands:
    fail("`twlab --help` lists no commands")

page = os.path.join(mandir, "twlab.1.scd")
check_sections(page, False)
top_defined = compare("twlab", [top], [page])
top_page = open(page, encoding="utf-8").read()

for cmd in commands:
    pages = sorted(glob.glob(os.path.join(mandir, "twlab-%s.1.scd" % cmd)) +
                   glob.glob(os.path.join(mandir, "twlab-%s-*.1.scd" % cmd)))
    if not pages:
        fail("%s: no man page (man/twlab-%s.1.scd)" % (cmd, cmd))
        continue
    if "*twlab-%s*(1)" % cmd not in top_page:
        fail("twlab.1 does not refer to twlab-%s(1)" % cmd)
    for p in pages:
        check_sections(p, True)
    h = help_text(cmd)
    helps = [h]
    actions = set()
    for m in re.finditer(r'twlab %s ([a-z][a-z0-9-]*(?:\|[a-z][a-z0-9-]*)*)' % cmd,
                         usage_block(h)):
        actions.update(m.group(1).split("|"))
    for a in sorted(actions):
        helps.append(help_text(cmd, a))
    compare(cmd + (" (%s)" % "|".join(sorted(actions)) if actions else ""), helps, pages)

print("help_man: %d commands, %d failures" % (len(commands), len(failures)))
sys.exit(1 if failures else 0)
