"""Real `dvc repro` / `dvc metrics` / `dvc exp` runs on a project copy with tiny params."""

from __future__ import annotations

import json

import pytest
import yaml

from tests.conftest import DVC, run, set_params

pytestmark = pytest.mark.pipeline
MODELS = ["vanilla_rnn", "stacked_vanilla_rnn", "lstm", "stacked_lstm"]


def lock(repo) -> dict:
    return yaml.safe_load((repo / "dvc.lock").read_text())["stages"]


def changed_stages(before: dict, after: dict) -> set[str]:
    """Stages whose dvc.lock entry (deps, params, outs hashes) differs: what DVC re-ran."""
    return {name for name in after if before.get(name) != after[name]}


def stale(repo) -> set[str]:
    return set(json.loads(run([*DVC, "status", "--json"], repo).stdout))


def test_prepare_is_cached_and_maxlen_reruns_prepare_not_fetch(project):
    import numpy as np

    run([*DVC, "repro", "prepare"], project)
    x_train = np.load(project / "data/prepared/x_train.npy")
    assert x_train.shape[1:] == (29, 1) and x_train.dtype == np.float32
    first = lock(project)
    assert set(first) == {"fetch", "prepare"}
    assert "fetch" not in stale(project) and "prepare" not in stale(project)

    run([*DVC, "repro", "prepare"], project)
    assert lock(project) == first  # nothing re-ran

    set_params(project, lambda p: p["data"].update(maxlen=20))
    assert {"fetch", "prepare"} & stale(project) == {"prepare"}
    run([*DVC, "repro", "prepare"], project)
    assert changed_stages(first, lock(project)) == {"prepare"}
    assert np.load(project / "data/prepared/x_train.npy").shape[1:] == (19, 1)


def test_whole_pipeline_metrics_rerun_scope_diff_and_determinism(full_project):
    project = full_project
    run([*DVC, "repro"], project)
    shown = json.loads(run([*DVC, "metrics", "show", "--json"], project).stdout)
    files = next(iter(shown.values()))["data"]
    runs = {
        json.loads((project / f).read_text())["model"]
        for f in files
        if f.startswith("metrics/runs/")
    }
    assert runs == set(MODELS)
    report = (project / "metrics/report.md").read_text()
    assert all(f"| {m} " in report for m in MODELS) and "baseline: tfidf_logreg" in report
    run([*DVC, "plots", "show", "-o", str(project / "plots")], project)
    assert (project / "plots/index.html").exists()
    run(["git", "add", "-A"], project)
    run(["git", "commit", "-qm", "baseline run"], project)

    before = lock(project)
    lstm_metrics = json.loads((project / "metrics/runs/lstm-1.json").read_text())
    set_params(project, lambda p: p["models"]["lstm"].update(units=[12]))
    run([*DVC, "repro"], project)
    assert changed_stages(before, lock(project)) == {"train@lstm-1", "evaluate@lstm-1", "report"}
    diff = json.loads(run([*DVC, "metrics", "diff", "--json"], project).stdout)
    assert (
        diff["metrics/runs/lstm-1.json"]["params"]["new"]
        != diff["metrics/runs/lstm-1.json"]["params"]["old"]
    )
    assert not any(path.startswith("metrics/runs/vanilla") for path in diff)

    # Same params, trained again from scratch: identical accuracy, F1 and loss.
    again = json.loads((project / "metrics/runs/lstm-1.json").read_text())
    run([*DVC, "repro", "--force", "--single-item", "train@lstm-1"], project)
    run([*DVC, "repro", "--force", "--single-item", "evaluate@lstm-1"], project)
    rerun = json.loads((project / "metrics/runs/lstm-1.json").read_text())
    for key in ("accuracy", "f1_macro", "f1_weighted", "loss"):
        assert rerun[key] == again[key], key
    assert lstm_metrics["params"] != rerun["params"]


def test_parallel_runner_brings_the_pipeline_up_to_date(project):
    run(["python", "tools/parallel_repro.py", "--jobs", "2"], project)
    assert stale(project) == set()
    assert {"train@lstm-1", "evaluate@vanilla_rnn-1", "report"} <= set(lock(project))
    assert json.loads((project / "metrics/runs/lstm-1.json").read_text())["epochs"] == 2
    assert "Running stage" not in run([*DVC, "repro"], project).stdout


def test_jax_backend_trains_and_evaluates(project):
    pytest.importorskip("jax", reason="the jax extra is not installed: pip install -e '.[jax]'")
    set_params(project, lambda p: p["train"].update(backend="jax"))
    run([*DVC, "repro"], project)
    metrics = json.loads((project / "metrics/runs/lstm-1.json").read_text())
    assert metrics["backend"] == "jax" and metrics["params"] == 12746
    assert 0 <= metrics["accuracy"] <= 1


STAGE_IMPORTS = """
import runpy, sys
sys.argv = [{module!r}, *{args!r}]
runpy.run_module({module!r}, run_name="__main__")
print("IMPORTED:", sorted(m for m in ("tensorflow", "keras") if m in sys.modules))
"""


@pytest.mark.parametrize(
    ("module", "args"),
    [
        ("stages.fetch", ["data/raw/reuters.npz"]),
        ("stages.prepare", ["data/raw/reuters.npz", "data/prepared", "metrics/data.json"]),
        (
            "stages.baseline",
            ["tfidf_logreg", "data/prepared", "metrics/baselines/tfidf_logreg.json"],
        ),
    ],
)
def test_data_stages_do_not_import_tensorflow(project, module, args):
    if module != "stages.fetch":
        run([*DVC, "repro", "prepare"], project)
    if module == "stages.baseline":
        set_params(project, lambda p: p["baselines"].update(tfidf_logreg={"kind": "tfidf_logreg"}))
    out = run(["python", "-c", STAGE_IMPORTS.format(module=module, args=args)], project).stdout
    assert "IMPORTED:" in out and "tensorflow" not in out.split("IMPORTED:")[1]


def test_adding_a_seed_trains_only_the_new_runs(reproduced_project):
    before = lock(reproduced_project)
    set_params(reproduced_project, lambda p: p["train"].update(seeds=[1, 2]))
    run([*DVC, "repro"], reproduced_project)
    new_runs = {
        f"{stage}@{model}-2" for stage in ("train", "evaluate") for model in ("vanilla_rnn", "lstm")
    }
    assert changed_stages(before, lock(reproduced_project)) == new_runs | {"report"}
    assert "seeds [1, 2]" in (reproduced_project / "metrics/report.md").read_text()
