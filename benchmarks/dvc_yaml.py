"""DVC's own work on this project, with ruamel.yaml parsing in C (ruamel.yaml.clib, a locked
dependency) against its pure-Python parser, in one process and one sitting.

DVC reads dvc.yaml, dvc.lock and params.yaml with ruamel.yaml; since ruamel.yaml 0.19 its C
parser is used only when ruamel.yaml.clib is installed. Each command runs through DVC's entry
point in this process (so only DVC's work is timed, not a Python start), `--repeat` times per
parser, alternating; prints CPU milliseconds per command and the C parser's ratio.

    python benchmarks/dvc_yaml.py --out benchmarks/dvc_yaml.md    # in the project's root
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import ruamel.yaml.main

C_PARSER = ruamel.yaml.main.CParser  # None without ruamel.yaml.clib
COMMANDS = [
    ["status", "-q"],
    ["repro", "-q", "--dry"],
    ["exp", "show", "--json"],
    ["params", "diff"],
]


def cpu_ms(args: list[str], pure: bool) -> float:
    """CPU milliseconds of one DVC command, its output discarded."""
    from dvc.cli import main

    ruamel.yaml.main.CParser = None if pure else C_PARSER  # read when DVC makes its YAML()
    sys.stdout.flush()
    saved, devnull = os.dup(1), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)  # DVC writes to the process's standard output itself
    try:
        start = time.process_time()
        main(args)
        return 1000 * (time.process_time() - start)
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5, help="runs per command and parser")
    parser.add_argument("--out", help="also write the table to this Markdown file")
    args = parser.parse_args()
    if C_PARSER is None:
        raise SystemExit("ruamel.yaml.clib is not installed: pip install -r requirements/run.lock")
    lines = [
        f"DVC's CPU per command, median of {args.repeat} runs (milliseconds)",
        "",
        "| command | pure-Python parser | C parser | C / pure |",
        "| :-- | --: | --: | --: |",
    ]
    print("\n".join(lines), flush=True)
    for command in COMMANDS:
        cpu_ms(command, pure=False)  # warm: imports and DVC's first-call caches
        times: dict[bool, list[float]] = {True: [], False: []}
        for _ in range(args.repeat):
            for pure in (True, False):
                times[pure].append(cpu_ms(command, pure))
        pure_ms, c_ms = statistics.median(times[True]), statistics.median(times[False])
        lines.append(
            f"| `dvc {' '.join(command)}` | {pure_ms:.0f} | {c_ms:.0f} | {c_ms / pure_ms:.2f} |"
        )
        print(lines[-1], flush=True)
    if args.out:
        Path(args.out).write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
