"""Write whole_set/dvc.yaml and whole_set/params.yaml from the root's: the same stages and plots,
run inside whole_set/ (a DVC project of its own, in the same git repository: its data, models,
metrics and experiments) with the code one folder up, and the root's params with the whole set's
differences (whole_set/differences.yaml) applied. Run it after editing dvc.yaml, params.yaml or
whole_set/differences.yaml:

    python -m tools.whole_set_pipeline

tests/test_deps.py fails while the files disagree.
"""

from __future__ import annotations

from pathlib import Path

import yaml

PROJECT = Path(__file__).resolve().parents[1]
TARGET = PROJECT / "whole_set" / "dvc.yaml"
PARAMS = PROJECT / "whole_set" / "params.yaml"
DIFFERENCES = PROJECT / "whole_set" / "differences.yaml"
# How deep a difference reaches: a section's keys are set one by one, and so are a model's or a
# baseline's; any other value (early_stopping, published) replaces the root's whole.
LEVELS = {"models": 2, "baselines": 2}
PARAMS_HEADER = """\
# Written by `python -m tools.whole_set_pipeline` from ../params.yaml (what each key means) and
# differences.yaml (where the whole Reuters set differs, and why): edit those, then run it.
# `dvc exp run -S ...` here changes this file for an experiment, as in any DVC project.
"""
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


class ParamsDumper(yaml.SafeDumper):
    """params.yaml's layout: sections and entries as blocks, a list of plain values on one line."""

    def represent_list(self, values):
        flat = all(not isinstance(value, list | dict) for value in values)
        return self.represent_sequence("tag:yaml.org,2002:seq", values, flow_style=flat)

    def represent_dict(self, values):
        return self.represent_mapping("tag:yaml.org,2002:map", values, flow_style=not values)


ParamsDumper.add_representer(list, ParamsDumper.represent_list)
ParamsDumper.add_representer(dict, ParamsDumper.represent_dict)


def with_differences(values: dict, differences: dict, levels: int) -> dict:
    """`values` with each difference set: a mapping `levels` > 1 deep is merged key by key."""
    merged = dict(values)
    for key, value in differences.items():
        if levels > 1 and isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = with_differences(merged[key], value, levels - 1)
        else:
            merged[key] = value
    return merged


def render_params() -> str:
    root = yaml.safe_load((PROJECT / "params.yaml").read_text())
    differences = yaml.safe_load(DIFFERENCES.read_text())
    unknown = sorted(set(differences) - set(root))
    if unknown:
        raise SystemExit(f"{DIFFERENCES.name}: {unknown} are no sections of params.yaml")
    merged = {
        section: with_differences(values, differences.get(section, {}), LEVELS.get(section, 1))
        if isinstance(values, dict)
        else differences.get(section, values)
        for section, values in root.items()
    }
    body = yaml.dump(merged, Dumper=ParamsDumper, sort_keys=False, width=100)
    return PARAMS_HEADER + body


if __name__ == "__main__":
    TARGET.write_text(render())
    PARAMS.write_text(render_params())
    print(f"wrote {TARGET.relative_to(PROJECT)} and {PARAMS.relative_to(PROJECT)}")
