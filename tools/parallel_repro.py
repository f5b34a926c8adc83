"""`dvc repro`, with independent stale stages run side by side (one core each).

DVC runs one stage at a time in a workspace (its repo lock). This runs the stale stages whose
upstream is up to date as parallel processes (their `cmd` from dvc.yaml), records each finished
one with `dvc commit`, and repeats until `dvc status` is clean. Usage:

    python tools/parallel_repro.py --jobs 2
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import networkx as nx
from dvc.repo import Repo

DVC = [sys.executable, "-m", "dvc"]


def one_core_env(threads: int) -> dict[str, str]:
    """Environment for a stage process that should use `threads` cores (read by stages.train)."""
    return {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "PIPELINE_THREADS": str(threads),
        "OMP_NUM_THREADS": str(threads),
    }


def stale_stages() -> set[str]:
    result = subprocess.run([*DVC, "status", "--json"], capture_output=True, text=True, check=True)
    return set(json.loads(result.stdout or "{}"))


def run_stage(name: str, cmd: str, env: dict[str, str]) -> tuple[str, int, float]:
    start = time.perf_counter()
    print(f"[parallel] start {name}: {cmd}", flush=True)
    code = subprocess.run(cmd, shell=True, env=env).returncode  # lines carry their stage label
    took = time.perf_counter() - start
    print(f"[parallel] {'done' if code == 0 else 'FAILED'} {name} ({took:.1f}s)", flush=True)
    return name, code, took


def parallel_repro(jobs: int, threads: int) -> int:
    with Repo() as repo:
        graph = repo.index.graph  # edges point from a stage to the stages it depends on
    by_name = {stage.addressing: stage for stage in graph.nodes}
    env = one_core_env(threads)
    while stale := stale_stages():
        ready = sorted(
            s
            for s in stale
            if not ({d.addressing for d in nx.descendants(graph, by_name[s])} & stale)
        )
        print(f"[parallel] {len(stale)} stale; running {len(ready)} with {jobs} job(s)", flush=True)
        with ThreadPoolExecutor(jobs) as pool:
            results = list(pool.map(lambda s: run_stage(s, by_name[s].cmd, env), ready))
        done = [name for name, code, _ in results if code == 0]
        if done:
            subprocess.run([*DVC, "commit", "--force", "--quiet", *done], check=True)
        if len(done) < len(ready):
            failed = sorted(set(ready) - set(done))
            print(
                f"[parallel] failed: {', '.join(failed)}; run `dvc repro {failed[0]}` to see why",
                file=sys.stderr,
            )
            return 1
    print("[parallel] pipeline up to date", flush=True)
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--jobs",
        "-j",
        type=int,
        default=os.cpu_count() or 1,
        help="stages at once (default: cores)",
    )
    parser.add_argument(
        "--threads", type=int, default=1, help="cores per stage process (default 1)"
    )
    args = parser.parse_args()
    raise SystemExit(parallel_repro(args.jobs, args.threads))


if __name__ == "__main__":
    main()
