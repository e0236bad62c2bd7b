#!/usr/bin/env python3
"""Times commands run by run, taking turns, each from spawn to exit with no shell.

    alternate.py --runs N [--warmup W] --out FILE.json \\
        [--prepare CMD] [--clock FILE] -n NAME COMMAND ...

Each -n NAME COMMAND is one command, with the --prepare and --clock given before it.
Every round runs each command once, in an order shuffled anew every round (from a
fixed seed), so that no command always runs first or always after the same other:
its prepare command (through sh, untimed), then the command itself (timed), with
its program looked up on PATH before the clock starts. The runs of one round are
paired: run K of every command is from round K. COMMAND is split like a shell line (no shell runs it);
`{t}` and `{c}` in it stand for the first and second word of the clock file as the
prepare command left it: a verify needs a fresh time and code on every run.

The times are those `hyperfine -N` reports (spawn to exit, as seen by the parent),
written in hyperfine's JSON shape so that run.sh reads both alike. Why not hyperfine:
a verify needs that fresh code, which only a shell can read for hyperfine, and
hyperfine's subtraction of the shell's start-up is noisier than these commands'
differences (it warns so itself below 5 ms).
"""

import argparse
import json
import os
import random
import shlex
import shutil
import subprocess
import sys
import time


def parse(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, required=True)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--out", required=True)
    args, rest = p.parse_known_args(argv)
    commands, prepare, clock = [], None, None
    it = iter(rest)
    for word in it:
        if word == "--prepare":
            prepare = next(it)
        elif word == "--clock":
            clock = next(it)
        elif word == "-n":
            name, line = next(it), next(it)
            commands.append({"name": name, "line": line, "prepare": prepare, "clock": clock})
        else:
            p.error(f"unexpected {word!r}: give each command as -n NAME COMMAND")
    if not commands:
        p.error("no command given")
    return args, commands


def run_once(cmd):
    if cmd["prepare"]:
        subprocess.run(cmd["prepare"], shell=True, check=True, stdout=subprocess.DEVNULL)
    words = {}
    if cmd["clock"]:
        with open(cmd["clock"]) as f:
            fields = f.read().split()
        words = {"t": fields[0], "c": fields[1] if len(fields) > 1 else ""}
    argv = shlex.split(cmd["line"])
    for key, value in words.items():
        argv = [w.replace("{" + key + "}", value) for w in argv]
    program = shutil.which(argv[0])
    if program is None:
        sys.exit(f"alternate.py: {argv[0]} not found")
    null = os.open(os.devnull, os.O_RDWR)
    try:
        start = time.perf_counter()
        pid = os.posix_spawn(
            program, argv, os.environ,
            file_actions=[(os.POSIX_SPAWN_DUP2, null, 0), (os.POSIX_SPAWN_DUP2, null, 1)],
        )
        _, status, usage = os.wait4(pid, 0)
        elapsed = time.perf_counter() - start
    finally:
        os.close(null)
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        sys.exit(f"alternate.py: {cmd['name']} exited with {code}: {shlex.join(argv)}")
    return elapsed, usage.ru_utime, usage.ru_stime


def main():
    args, commands = parse(sys.argv[1:])
    results = [{"command": c["name"], "times": [], "user": [], "system": []} for c in commands]
    order = list(range(len(commands)))
    rng = random.Random(0)
    for round_no in range(args.warmup + args.runs):
        rng.shuffle(order)
        for i in order:
            elapsed, user, system = run_once(commands[i])
            if round_no >= args.warmup:
                results[i]["times"].append(elapsed)
                results[i]["user"].append(user)
                results[i]["system"].append(system)
    for r in results:
        runs = len(r["times"])
        r["user"] = sum(r["user"]) / runs
        r["system"] = sum(r["system"]) / runs
    with open(args.out, "w") as f:
        json.dump({"results": results}, f)


if __name__ == "__main__":
    main()
