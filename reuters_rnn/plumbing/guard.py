"""A stage never records a lie: it fails if its params or code change while it runs.

DVC hashes a stage's deps and params after its command ends, so an edit made mid-run would be
recorded beside outputs computed from the old values. `InputsGuard` snapshots params.yaml and the
project's modules when the stage starts; `check()` compares them when it ends and, if something
this stage depends on changed, removes the outputs it wrote and fails the stage, so DVC records
nothing.
"""

from __future__ import annotations

import ast
import hashlib
import os
import shutil
from pathlib import Path
from typing import Any

import yaml

from reuters_rnn.plumbing.failure import FixableError

# The pipeline's code: the stage commands and the library they share (not the search tool).
PROJECT = Path(__file__).resolve().parents[2]
CODE = ("stages", "reuters_rnn")


class InputsChanged(FixableError):
    """A stage's params or code changed while it ran; its outputs were removed."""


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        flat: dict[str, Any] = {}
        for key, item in value.items():
            flat.update(_flatten(item, f"{prefix}{key}."))
        return flat
    return {prefix.rstrip("."): value}


def imported_code(module: str, seen: set[str] | None = None) -> set[str]:
    """The pipeline's modules (as project-relative paths: `reuters_rnn/fit/models.py`) that `module`
    (`stages.train`) is and imports, transitively, at the top or inside functions: the code its
    stage runs, as dvc.yaml lists it in the stage's deps."""
    seen = set() if seen is None else seen
    path = f"{module.replace('.', '/')}.py"
    seen.add(path)
    for node in ast.walk(ast.parse((PROJECT / path).read_text())):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        for name in names:
            ours = name.startswith(tuple(f"{package}." for package in CODE))
            if ours and f"{name.replace('.', '/')}.py" not in seen:
                imported_code(name, seen)
    return seen


def code_hashes(files: set[str] | None = None) -> dict[str, str]:
    """sha256 of each pipeline module (of `files` only, when given), by project-relative path."""
    paths = sorted(path for package in CODE for path in (PROJECT / package).rglob("*.py"))
    named = {path.relative_to(PROJECT).as_posix(): path for path in paths}
    return {
        name: hashlib.sha256(path.read_bytes()).hexdigest()
        for name, path in named.items()
        if files is None or name in files
    }


def project_relative(path: str | Path) -> str:
    """A path as the project root names it (`stages/report.py`), wherever the DVC project that
    declares it lives (whole_set/ declares `../stages/report.py`); others as they resolve."""
    resolved = Path(path).resolve()
    return (
        resolved.relative_to(PROJECT).as_posix()
        if resolved.is_relative_to(PROJECT)
        else str(resolved)
    )


def _declared(stage: str) -> tuple[list[str], set[str]] | None:
    """The params keys and file deps DVC declares for `stage`, or None if unknown."""
    try:
        from dvc.repo import Repo

        with Repo() as repo:
            (found,) = repo.stage.collect(stage)
        keys = [key for dep in found.deps if hasattr(dep, "params") for key in dep.params]
        files = {
            project_relative(Path(found.wdir, dep.def_path))
            for dep in found.deps
            if not hasattr(dep, "params")
        }
        return keys, files
    except Exception:  # outside DVC, or the stage is gone from dvc.yaml: everything counts
        return None


class InputsGuard:
    def __init__(self, label: str, params_file: str | Path = "params.yaml") -> None:
        self.label, self.params_file = label, Path(params_file)
        self.params_text = self.params_file.read_text()
        self.code = code_hashes()

    def changes(self) -> tuple[list[str], list[str]]:
        """What changed since the start, limited to what this stage declares in dvc.yaml: the
        params (each as `key old → new`) and the code files (`file edited`)."""
        now_text = self.params_file.read_text() if self.params_file.exists() else ""
        now_code = code_hashes()
        if now_text == self.params_text and now_code == self.code:
            return [], []
        before = _flatten(yaml.safe_load(self.params_text) or {})
        try:
            after = _flatten(yaml.safe_load(now_text) or {})
        except yaml.YAMLError:
            after = {}
        params = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
        code = sorted(
            p for p in self.code.keys() | now_code.keys() if self.code.get(p) != now_code.get(p)
        )
        declared = _declared(os.environ["DVC_STAGE"]) if "DVC_STAGE" in os.environ else None
        if declared:
            keys, files = declared
            params = [p for p in params if any(p == k or p.startswith(f"{k}.") for k in keys)]
            code = [c for c in code if c in files]
        missing = object()
        shown = [f"{k} {before.get(k, missing)!r} → {after.get(k, missing)!r}" for k in params]
        return [s.replace(f"{missing!r}", "(absent)") for s in shown], [f"{c} edited" for c in code]

    def check(self, *outputs: str | Path, kept: str = "") -> None:
        """Raise InputsChanged if the stage's inputs changed while it ran, removing `outputs`
        (but for a stage that says what it `kept`: train keeps its seeds, which a later run
        reuses only where their fingerprint, params and code included, still matches)."""
        params_changed, code_changed = self.changes()
        changed = params_changed + code_changed
        if not changed:
            return
        for output in map(Path, outputs if not kept else ()):
            if output.is_dir():
                shutil.rmtree(output, ignore_errors=True)
            elif output.exists():
                output.unlink()
        why = (
            " If you did not edit it, another `dvc exp run` in this workspace wrote its -S values "
            "into params.yaml before DVC refused it: run experiments one after another, or queue "
            "them (`dvc exp run --queue -S ...`, then `dvc queue start`), or give each its own "
            "copy (`dvc exp run --temp -S ...`); `git checkout HEAD -- params.yaml` restores the "
            "committed params."
            if params_changed
            else ""
        )
        raise InputsChanged(
            f"{self.label}: inputs changed while it ran: {'; '.join(changed)}. Nothing was "
            f"recorded{kept}; run `dvc repro` again.{why}"
        )
