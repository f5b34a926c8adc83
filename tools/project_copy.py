"""Copy the pipeline (code, dvc.yaml, params) into a fresh git + DVC repo, for tests and benchmarks."""

from __future__ import annotations

import compileall
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import yaml

PROJECT = Path(__file__).resolve().parents[1]
FILES = [
    "dvc.yaml",
    "params.yaml",
    "pyproject.toml",
    "stages",
    "reuters_rnn",
    "tools",
    ".dvcignore",
    ".gitignore",
]
TEMPLATES = ".dvc/plots"  # the custom plot templates, copied after `dvc init`
DVC = [sys.executable, "-m", "dvc"]
# DVC runs stage commands (`python -m stages...`) through the shell: this interpreter comes first.
# Nothing but loopback: no DVC analytics or update check, no AWS instance-metadata lookup.
ENV = {
    **os.environ,
    "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    "DVC_NO_ANALYTICS": "1",
    "AWS_EC2_METADATA_DISABLED": "true",
}


def copy_project(dest: Path, edit_params: Callable[[dict], None] | None = None) -> Path:
    """A committed copy of the project at `dest`, its params.yaml changed by `edit_params`."""
    dest.mkdir(parents=True)
    for name in FILES:
        src = PROJECT / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(src, dest / name)
    # Compiled once here, as an installed package is: each stage's Python start then reads its
    # bytecode instead of compiling the project's modules again (git ignores __pycache__/).
    for name in FILES:
        if (dest / name).is_dir():
            compileall.compile_dir(dest / name, quiet=1)
    if edit_params:
        params = yaml.safe_load((dest / "params.yaml").read_text())
        edit_params(params)
        (dest / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    for cmd in (
        ["git", "init", "-q"],
        ["git", "config", "user.email", "pipeline@example.com"],
        ["git", "config", "user.name", "pipeline copy"],
        [*DVC, "init", "-q"],
        [*DVC, "config", "core.analytics", "false"],
        [*DVC, "config", "core.check_update", "false"],
        [*DVC, "config", "plots.html_template", "plots/page.html"],  # Vega inside: offline
    ):
        subprocess.run(cmd, cwd=dest, check=True, capture_output=True, env=ENV)
    shutil.copytree(PROJECT / TEMPLATES, dest / TEMPLATES)
    for cmd in (
        ["git", "add", "-A"],
        ["git", "commit", "-qm", "project copy"],
    ):
        subprocess.run(cmd, cwd=dest, check=True, capture_output=True, env=ENV)
    return dest


def timed(cmd: list[str], cwd: Path) -> tuple[float, str]:
    """Seconds a command takes, and its stdout; its output's tail in the error if it fails."""
    start = time.perf_counter()
    result = subprocess.run(cmd, cwd=cwd, env=ENV, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(
            f"{' '.join(cmd)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        )
    return time.perf_counter() - start, result.stdout
