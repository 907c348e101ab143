#!/usr/bin/env python3
"""Checks the man page against the binary and the renderers.

Every command listed by `taskman --help` must be a tagged entry of COMMANDS; every configuration
variable (`taskman config docs`) a tagged entry of ENVIRONMENT; every other flag a command's
--help shows must appear in the rendered page; the version in .TH must be the binary's. groff
(with all warnings) and man-db must render the page without a word on stderr.

  man_page_test.py --bin build/taskman --page deploy/man/taskman.1
"""
import argparse
import os
import re
import shutil
import subprocess
import sys

failures = []


def fail(msg):
    failures.append(msg)
    print(f"FAIL: {msg}", file=sys.stderr)


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, check=False, **kw)


def sections(page):
    """Maps each .SH name to its lines."""
    out, name = {}, None
    for line in page.splitlines():
        m = re.match(r'\.SH\s+"?([^"]+)"?$', line)
        if m:
            name = m.group(1).strip()
            out[name] = []
        elif name:
            out[name].append(line)
    return out


def tags(lines):
    """The first word(s) of each .TP entry's tag line, unescaped: '.B config check' -> 'config check'."""
    found = []
    for prev, line in zip(lines, lines[1:]):
        if prev.strip() == ".TP":
            m = re.match(r"\.(?:B|BI|BR|I)\s+(.*)$", line)
            if m:
                text = m.group(1).replace("\\-", "-")
                found.append(re.split(r'\s+"', text)[0].strip('"'))
    return found


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--page", required=True)
    args = ap.parse_args()
    page = open(args.page, encoding="utf-8").read()
    secs = sections(page)

    # Commands: the indented names under "commands:" up to the first blank line.
    top = run([args.bin, "--help"]).stdout
    block = top.split("commands:\n", 1)[1].split("\n\n", 1)[0]
    commands = [re.split(r"\s{2,}", line.strip())[0] for line in block.splitlines() if line.strip()]
    if len(commands) < 5:
        fail(f"could not read the commands from taskman --help: {commands}")
    command_tags = tags(secs.get("COMMANDS", []))
    for c in commands:
        if c not in command_tags:
            fail(f"command '{c}' of taskman --help has no entry in COMMANDS (entries: {command_tags})")
        if c not in "\n".join(secs.get("SYNOPSIS", [])):
            fail(f"command '{c}' is not in SYNOPSIS")

    # Variables: from config docs, the one declaration of every setting.
    docs = run([args.bin, "config", "docs"]).stdout
    variables = re.findall(r"^\| `([A-Z][A-Z0-9_]+)` \|", docs, re.M)
    if len(variables) < 10:
        fail(f"could not read the variables from taskman config docs: {variables}")
    env_tags = tags(secs.get("ENVIRONMENT", []))
    for v in variables:
        if v not in env_tags:
            fail(f"variable {v} has no entry in ENVIRONMENT")
    for v in env_tags:
        if v not in variables:
            fail(f"ENVIRONMENT documents {v}, which taskman does not know")

    # Flags: a configuration flag is documented by its variable; every other one must be in the text.
    rendered = run(["groff", "-man", "-Tascii", "-P-c", "-P-b", "-P-u", args.page]).stdout
    words = set(re.findall(r"--[a-z][a-z0-9-]*", rendered))
    for c in commands:
        help_text = run([args.bin, *c.split(), "--help"]).stdout
        config_flags = set(re.findall(r"^\s+(--[a-z0-9-]+) (?:VALUE|BOOL)\s+[A-Z0-9_]+:", help_text, re.M))
        for flag in sorted(set(re.findall(r"^\s+(--[a-z][a-z0-9-]*)", help_text, re.M)) - config_flags):
            if flag not in words:
                fail(f"flag {flag} of taskman {c} is not in the man page")
    for flag in ("--help", "--version"):
        if flag not in words:
            fail(f"{flag} is not in the man page")

    # Version: .TH names the version the binary reports.
    version = run([args.bin, "--version"]).stdout.split()[1]
    th = re.search(r'^\.TH\s+TASKMAN\s+1\s+"[^"]*"\s+"taskman ([^"]+)"', page, re.M)
    if not th or th.group(1) != version:
        fail(f".TH names version {th.group(1) if th else None}, the binary is {version}")

    # Rendering: groff with every warning, then man-db as a reader would see it.
    g = run(["groff", "-man", "-ww", "-z", args.page])
    if g.returncode != 0 or g.stderr:
        fail(f"groff -man -ww -z: exit {g.returncode}: {g.stderr.strip()}")
    if shutil.which("man"):
        env = dict(os.environ, MANWIDTH="80", LC_ALL="C.UTF-8", MAN_KEEP_STDERR="1")
        m = run(["man", "--warnings=all", "-l", args.page], env=env)
        if m.returncode != 0 or m.stderr or "ENVIRONMENT" not in m.stdout:
            fail(f"man -l: exit {m.returncode}: {m.stderr.strip()}")
    else:
        fail("man (man-db) is not installed")

    print(f"{len(commands)} commands, {len(variables)} variables, {len(words)} flags checked")
    if failures:
        return 1
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
