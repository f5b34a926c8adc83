"""Write whole_set/dvc.yaml from dvc.yaml: the same stages and plots, run inside whole_set/ (a DVC
project of its own, in the same git repository: its params.yaml, data, models, metrics and
experiments), with the code one folder up. Run it after editing dvc.yaml:

    python -m tools.whole_set_pipeline

tests/test_deps.py fails while the two disagree.
"""

from __future__ import annotations

from pathlib import Path

import yaml

PROJECT = Path(__file__).resolve().parents[1]
TARGET = PROJECT / "whole_set" / "dvc.yaml"
CODE = ("stages/", "reuters_rnn/")
HEADER = """\
# Generated from ../dvc.yaml by `python -m tools.whole_set_pipeline`: edit that file, then run it.
# The same stages on the whole Reuters set, in a DVC project of its own (`dvc repro` at the root
# never starts it): they read this folder's params.yaml and write its data/, models/ and
# metrics/; the code is one folder up.   cd whole_set && dvc repro
"""


def whole_set_pipeline(pipeline: dict) -> dict:
    """The stages and plots of `pipeline`, each command importing the code from the folder above
    and each code dep one folder up; no artifacts (the models are the root pipeline's)."""
    stages = {}
    for name, stage in pipeline["stages"].items():
        body = dict(stage.get("do", stage))
        body["cmd"] = f"PYTHONPATH=.. {body['cmd']}"
        body["deps"] = [f"../{dep}" if dep.startswith(CODE) else dep for dep in body["deps"]]
        stages[name] = {**stage, "do": body} if "do" in stage else body
    return {"vars": pipeline["vars"], "stages": stages, "plots": pipeline["plots"]}


def render() -> str:
    pipeline = yaml.safe_load((PROJECT / "dvc.yaml").read_text())
    body = yaml.safe_dump(whole_set_pipeline(pipeline), sort_keys=False, width=100)
    return HEADER + body


if __name__ == "__main__":
    TARGET.write_text(render())
    print(f"wrote {TARGET.relative_to(PROJECT)}")
