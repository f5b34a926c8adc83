"""Real `dvc repro` / `dvc metrics` / `dvc plots` / `dvc exp show` on a tiny project copy."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import vl_convert

from tests.dvc_runner import dvc_in_process
from tests.tiny_project import (
    DVC,
    ENV,
    changed_stages,
    commit_all,
    lock,
    run,
    set_params,
    stale,
)

pytestmark = pytest.mark.pipeline
LIBRARY_NOISE = re.compile(r"I0000|E0000|W0000|absl|oneDNN|cpu_feature_guard|tensorflow/|xla")


def test_prepare_is_cached_and_maxlen_reruns_prepare_not_fetch(reproduced_project):
    """Run once (the reproduced project): `dvc repro prepare` runs nothing again; a new maxlen
    reruns validate and prepare, not fetch."""
    import numpy as np

    project = reproduced_project
    x_train = np.load(project / "data/prepared/x_train.npy")
    assert x_train.shape[1:] == (29, 1) and x_train.dtype == np.float32
    first = lock(project)
    assert stale(project) == set()
    run([*DVC, "repro", "prepare"], project)
    assert lock(project) == first  # nothing re-ran

    set_params(project, lambda p: p["data"].update(maxlen=20))
    assert stale(project) & {"validate", "fetch", "prepare"} == {"validate", "prepare"}
    run([*DVC, "repro", "prepare"], project)
    assert changed_stages(first, lock(project)) == {"validate", "prepare"}  # no stage after
    assert np.load(project / "data/prepared/x_train.npy").shape[1:] == (19, 1)


def test_dvc_in_the_tests_process_says_what_the_dvc_command_says(reproduced_project):
    """The pipeline tests run DVC through its entry point in their own process
    (tests/dvc_runner.py): the same exit status, standard output and standard error as the
    `dvc` command, for an answer, a warning and an error, and the process's streams as before."""
    streams = sys.stdout, sys.stderr
    for args in (["status", "--json"], ["metrics", "show"], ["repro", "no-such-stage"]):
        alone = subprocess.run(
            [*DVC, *args], cwd=reproduced_project, capture_output=True, text=True, env=ENV
        )
        inside = dvc_in_process(args, reproduced_project, ENV)
        assert (inside.returncode, inside.stdout, inside.stderr) == (
            alone.returncode,
            alone.stdout,
            alone.stderr,
        ), args
    assert alone.returncode != 0 and "no-such-stage" in alone.stderr  # an error, on stderr
    assert (sys.stdout, sys.stderr) == streams and not sys.stderr.closed


def test_the_metrics_files_and_views_a_person_can_read(reproduced_project):
    """The results in one file (the recommended model, then each model's accuracy), and each
    training's live step in its own (metrics/live/), which a finished run leaves at its end."""
    project = reproduced_project
    shown = json.loads(run([*DVC, "metrics", "show", "--json"], project).stdout)
    files = next(iter(shown.values()))["data"]
    live = ["metrics/live/vanilla_rnn.json", "metrics/live/lstm.json"]
    assert sorted(files) == sorted([*live, "metrics/report.json"])
    report = files["metrics/report.json"]["data"]
    assert list(report)[:4] == ["recommended", "vanilla_rnn", "lstm", "majority"]
    (chosen,) = report["recommended"]  # a number, which DVC diffs: {"<model>": 1}
    assert chosen in {"vanilla_rnn", "lstm", "majority"} and report["recommended"][chosen] == 1
    assert all(files[path]["data"]["epoch"] == 2 for path in live)  # the finished step

    header = next(csv.reader(io.StringIO(run([*DVC, "exp", "show", "--csv"], project).stdout)))
    first = header.index(f"recommended.{chosen}")
    assert header[first : first + 4] == [f"recommended.{chosen}", "vanilla_rnn", "lstm", "majority"]
    assert header[first + 4] == "train.epochs"  # the first params column: what experiments change

    plots = json.loads(run([*DVC, "plots", "show", "--json"], project).stdout)["data"]
    titles = [plot[0]["content"]["title"] for plot in plots.values()]
    assert len(plots) == 4, list(plots)  # summary, confusion, one learning-curves plot per model
    assert titles[0].startswith("Held-out accuracy per model")
    (facts,) = json.loads((project / "metrics/training/lstm.json").read_text())["seeds"]
    assert facts["cpu"] and facts["backend"] == "tensorflow"  # where the weights were made
    assert [t.split(":")[0] for t in titles if "per epoch" in t] == ["vanilla_rnn", "lstm"]


def test_changing_lstm_units_reruns_only_lstm_the_readme_undo_and_the_run_cache_train_nothing(
    reproduced_project,
):
    """A -> B: only lstm retrains, with progress, and `dvc metrics diff` / `dvc plots diff` show
    it alone. A failed experiment, then the README's undo (autostage on, as the project sets
    it): back to A, nothing retrains. A -> B again: DVC's run-cache restores B's training
    (models, curves, records) without training, even over records damaged as a merge conflict
    leaves them."""
    project = reproduced_project
    run([*DVC, "config", "core.autostage", "true"], project)
    commit_all(project, "autostage, as the project sets it")
    tracked = ("metrics/training/lstm.json", "metrics/curves/lstm.csv", "metrics/report.json")
    before = lock(project)
    set_params(project, lambda p: p["models"]["lstm"].update(units=[12]))
    out = run([*DVC, "repro"], project)
    text = out.stdout + out.stderr  # one progress line per epoch, no library log noise
    assert not LIBRARY_NOISE.search(text), text
    assert re.search(r"train lstm seed 1: epoch 2/2: accuracy .* test accuracy .* s left", text)
    assert changed_stages(before, lock(project)) == {
        "validate",
        "train@lstm",
        "evaluate@lstm",
        "report",
        "plots",
    }
    assert "dvc.lock" in run(["git", "diff", "--cached", "--name-only"], project).stdout  # staged
    trained = {path: (project / path).read_bytes() for path in tracked}
    diff = json.loads(run([*DVC, "metrics", "diff", "--json"], project).stdout)
    rows = [(path, key) for path, metrics in diff.items() for key in metrics]
    assert sorted(rows) == [("metrics/live/lstm.json", "accuracy"), ("metrics/report.json", "lstm")]
    change = diff["metrics/report.json"]["lstm"]
    assert diff["metrics/live/lstm.json"]["accuracy"]["new"] == change["new"]  # one seed
    assert change["diff"] == pytest.approx(change["new"] - change["old"])  # a number, not "-"
    again = json.loads(run([*DVC, "metrics", "diff", "--json"], project).stdout)
    assert sorted((p, k) for p, m in again.items() for k in m) == sorted(rows)
    assert "train_seconds" not in json.dumps(diff)
    # `dvc plots diff` draws each revision apart in the summary plot (a row each) and the
    # confusion matrices (a panel each), rendered as DVC's page would, by Vega-Lite.
    plots = json.loads(run([*DVC, "plots", "diff", "HEAD", "--json"], project).stdout)["data"]
    for title, expected in (
        ("accuracy", {"lstm · HEAD", "lstm · workspace", "majority · HEAD"}),
        ("confusion", {"lstm · HEAD", "lstm · workspace", "vanilla_rnn · HEAD"}),
    ):
        plot = plots[title]
        svg = vl_convert.vegalite_to_svg(plot[0]["content"])
        labels = set(re.findall(r">([a-z_]+ · [A-Za-z~0-9]+)<", svg))
        assert expected <= labels, (title, labels)
    # The learning curves take DVC's colour per revision (its anchor): each revision's lines
    # apart, in the colours DVC (and its VS Code extension) give them.
    for panel in plots["metrics/curves/lstm.csv"][0]["content"]["vconcat"]:
        color = panel["encoding"]["color"]
        assert color["field"] == "rev" and set(color["scale"]["domain"]) == {"HEAD", "workspace"}

    bad = run([*DVC, "exp", "run", "-S", "train.epochs=0"], project, check=False)
    assert bad.returncode != 0
    # The README's undo: the committed params, lock and metrics, then the outputs they name.
    run(["git", "checkout", "HEAD", "--", "params.yaml", "dvc.lock", "metrics"], project)
    run([*DVC, "checkout"], project)
    redone = run([*DVC, "repro"], project).stdout  # what git's stat cache kept: report, plots
    assert "Running stage 'train@" not in redone  # nothing retrains
    assert run(["git", "status", "--porcelain"], project).stdout == ""
    assert stale(project) == set(), run([*DVC, "status"], project).stdout

    set_params(project, lambda p: p["models"]["lstm"].update(units=[12]))
    (project / "metrics/training/lstm.json").write_text('<<<<<<< HEAD\n{"seeds": [')
    (project / "metrics/curves/lstm.csv").unlink()
    (project / "metrics/curves/lstm.csv").mkdir()
    result = run([*DVC, "repro"], project)
    output = result.stdout + result.stderr
    assert "Stage 'train@lstm' is cached - skipping run" in output, output
    assert "train lstm seed" not in output and "Traceback" not in output
    assert {path: (project / path).read_bytes() for path in tracked} == trained
    assert stale(project) == set()


README = (Path(__file__).parents[1] / "README.md").read_text()


def test_the_readme_comparison_fits_120_columns_with_each_experiment_and_its_change(
    reproduced_project,
):
    """README's experiments table: a column per experiment under the param it changed, a row
    per model with its accuracy, in 120 columns."""
    (command,) = re.findall(r"^(python -m tools.exp_table)\s+#", README, re.MULTILINE)
    for units in (6, 8):  # two experiments, saved as they are: the view is what is tested
        set_params(reproduced_project, lambda p, u=units: p["models"]["lstm"].update(units=[u]))
        run([*DVC, "exp", "save"], reproduced_project)
    shown = subprocess.run(
        ["bash", "-c", command],
        cwd=reproduced_project,
        capture_output=True,
        text=True,
        env={**ENV, "COLUMNS": "120"},
        check=True,
    ).stdout
    lines = shown.splitlines()
    assert max(len(line) for line in lines) <= 120, shown
    units = next(line for line in lines if line.startswith("models.lstm.units"))
    assert sorted(units.split()[1:]) == ["[50]", "[6]", "[8]", "[8]"], shown  # the last applied
    lstm = next(line for line in lines if line.startswith("lstm "))
    assert len(re.findall(r"0\.\d{4}", lstm)) == 4, shown  # workspace, HEAD, two experiments
    assert [line.split()[0] for line in lines[-3:]] == ["vanilla_rnn", "lstm", "majority"]


def test_a_running_training_shows_its_step_in_dvc_exp_show_before_it_ends(reproduced_project):
    """During `dvc exp run`, `dvc exp show --json` lists the running experiment with the step
    every seed of the training has reached and its held-out accuracy (metrics/live/). Once seen,
    the run is stopped with Ctrl+C (the finished step: test_the_metrics_files_and_views...)."""
    project = reproduced_project
    set_params(project, lambda p: p["models"]["lstm"].update(epochs=200))
    env = {**ENV, "KERAS_HOME": os.environ["KERAS_HOME"]}
    running = subprocess.Popen(
        [*DVC, "exp", "run"],
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, as a terminal's Ctrl+C reaches it
    )
    seen = []
    try:
        while running.poll() is None and not seen:
            shown = run([*DVC, "exp", "show", "--json"], project).stdout
            for row in json.loads(shown):
                for experiment in row.get("experiments") or []:
                    if (experiment.get("executor") or {}).get("state") != "running":
                        continue
                    # A row DVC has only just started has no data yet.
                    data = experiment["revs"][0].get("data") or {}
                    metrics = data.get("metrics") or {}
                    live = metrics.get("metrics/live/lstm.json", {}).get("data", {})
                    # Past the 2 epochs of the committed run, whose step the file starts at.
                    if 2 < live.get("epoch", 0) < 200:
                        seen.append(live)
    finally:
        if running.poll() is None:
            os.killpg(running.pid, signal.SIGINT)
        output = running.communicate(timeout=120)[0].decode()
    assert seen, output[-3000:]
    assert 0 <= seen[0]["accuracy"] <= 1 and set(seen[0]) == {"epoch", "accuracy"}


def test_same_params_retrained_give_identical_metrics(reproduced_project):
    project = reproduced_project
    first = (project / "metrics/runs/lstm.json").read_text()
    shutil.rmtree(project / ".train-store")  # no stored seed to reuse: train from scratch
    run([*DVC, "repro", "--force", "--no-run-cache", "train@lstm"], project)
    run([*DVC, "repro"], project)
    assert (project / "metrics/runs/lstm.json").read_text() == first


def test_adding_a_seed_trains_only_the_new_seed(reproduced_project):
    def seeds(name: str) -> dict:
        facts = json.loads((reproduced_project / f"metrics/training/{name}.json").read_text())
        return {run["seed"]: run for run in facts["seeds"]}

    before = seeds("lstm")
    set_params(reproduced_project, lambda p: p["models"].pop("vanilla_rnn"))  # one is enough
    set_params(reproduced_project, lambda p: p["report"].update(comparisons=[], published={}))
    set_params(reproduced_project, lambda p: p["train"].update(seeds=[1, 2]))
    out = run([*DVC, "repro"], reproduced_project).stdout
    assert "train lstm: seeds [1] trained before with these inputs; kept" in out
    after = seeds("lstm")
    assert after[1] == before[1] and set(after) == {1, 2}  # seed 1 kept as it was
    assert "seeds [1, 2]" in (reproduced_project / "metrics/report.md").read_text()
    assert stale(reproduced_project) == set()
    diff = json.loads(run([*DVC, "metrics", "diff", "--json"], reproduced_project).stdout)
    spread = diff["metrics/report.json"]["lstm_std"]  # two seeds: a spread to read changes against
    assert spread["old"] is None and spread["new"] >= 0


def test_jax_backend_trains_and_evaluates(reproduced_project):
    pytest.importorskip("jax", reason="the jax extra is not installed: pip install -e '.[jax]'")
    project = reproduced_project
    # Compiled, as the real run trains: op by op, JAX takes twice as long for the tiny LSTM.
    set_params(project, lambda p: p["train"].update(backend="jax", jit_compile=True))
    set_params(project, lambda p: p["models"].pop("vanilla_rnn"))  # one training is enough
    set_params(project, lambda p: p["report"].update(comparisons=[], published={}))
    result = run([*DVC, "repro"], project)
    output = result.stdout + result.stderr
    assert not LIBRARY_NOISE.search(output), output
    metrics = json.loads((project / "metrics/runs/lstm.json").read_text())["seeds"]["1"]
    assert metrics["weights"] == 12746 and 0 <= metrics["accuracy"] <= 1
    (facts,) = json.loads((project / "metrics/training/lstm.json").read_text())["seeds"]
    assert facts["backend"] == "jax"


STAGE_IMPORTS = """
import runpy, sys
import reuters_rnn.plumbing.backend
reuters_rnn.plumbing.backend.end_process = lambda: None  # return here, to list what the stage loaded
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
            ["majority", "data/prepared", "metrics/baselines/majority.json", "m.csv", "m.npy"],
        ),
    ],
)
def test_data_stages_do_not_import_tensorflow(reproduced_project, module, args):
    if module in ("stages.fetch", "stages.prepare"):  # Keras's numpy backend needs jax
        pytest.importorskip("jax", reason="without jax, fetch and prepare load Keras on TensorFlow")
    project = reproduced_project  # its raw and prepared data are there
    out = run(["python", "-c", STAGE_IMPORTS.format(module=module, args=args)], project).stdout
    assert "IMPORTED:" in out and "tensorflow" not in out.split("IMPORTED:")[1]
