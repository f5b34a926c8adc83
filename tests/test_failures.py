"""A failed training is never a result, and a run that cannot finish ends with one line: a
diverged or NaN training, Ctrl-C and SIGTERM, a full disk (undoing a run with autostage:
test_pipeline.py)."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from reuters_rnn.fit.training import training_failure
from reuters_rnn.plumbing.failure import FixableError
from tests.tiny_project import (
    DVC,
    TRAIN_LSTM,
    lock,
    read_only,
    run,
    set_params,
    stale,
    start,
    wait_for_line,
)

LABEL = "train lstm seed 2"
VALIDATE = "python -m stages.validate params.yaml data/params.ok"
KEY = "models.lstm.learning_rate"


def rows(*losses: float) -> list[dict]:
    """Curves rows as EpochLog keeps them: train and test per epoch."""
    return [
        {"epoch": epoch, "split": split, "accuracy": 0.5, "loss": loss}
        for epoch, loss in enumerate(losses, start=1)
        for split in ("train", "test")
    ]


def test_a_sound_training_passes():
    assert training_failure(rows(3.9, 2.0, 1.1), LABEL, KEY, 0.001) == ""


def test_a_nan_loss_fails_naming_model_seed_epoch_and_fix():
    line = training_failure(rows(3.9, float("nan")), LABEL, KEY, 1e-3)
    assert line.startswith("train lstm seed 2: diverged at epoch 2: train loss nan, not a number")
    assert "lower models.lstm.learning_rate (now 0.001)" in line and "\n" not in line


def test_a_loss_above_guessing_fails_even_when_it_fell_since_the_first_epoch():
    line = training_failure(rows(40000.0, 35711.8555), LABEL, KEY, 0.9)
    assert "train loss 35711.9, above ln 46 = 3.83" in line
    assert training_failure(rows(3.9, math.log(46) + 0.01), LABEL, KEY, 0.9)


@pytest.mark.pipeline
def test_a_diverged_training_fails_the_stage_and_records_nothing(reproduced_project):
    repo = reproduced_project
    before = lock(repo)["train@vanilla_rnn"]
    set_params(repo, lambda p: p["models"]["vanilla_rnn"].update(learning_rate=1.0))
    set_params(repo, lambda p: p["train"].update(seeds=[1, 2]))
    result = run([*DVC, "repro", "train@vanilla_rnn"], repo, check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    for seed in (1, 2):
        assert f"train vanilla_rnn seed {seed}: diverged at epoch 2: train loss" in output
    assert "lower models.vanilla_rnn.learning_rate (now 1)" in output
    assert "Traceback" not in output
    assert lock(repo)["train@vanilla_rnn"] == before  # DVC recorded nothing
    assert not list((repo / "models/vanilla_rnn").glob("seed-2*"))  # nothing saved
    assert not list((repo / "models").glob(".*tmp*"))
    # DVC removed the stage's outputs before it ran: the line says so, and its advice, run as
    # printed, brings back the committed ones.
    advice = output.split("the committed ones come back with `")[1].split("`")[0]
    assert advice == "dvc checkout train@vanilla_rnn"  # the live step is in DVC's cache too
    run(["bash", "-c", advice], repo)
    assert not run(["git", "status", "--porcelain", "--", "metrics"], repo).stdout
    assert (repo / "models/vanilla_rnn/seed-1.keras").exists()


@pytest.mark.pipeline
def test_ctrl_c_and_sigterm_each_end_with_one_line_and_the_next_repro_resumes(reproduced_project):
    """Ctrl-C, then SIGTERM on the training that resumed from Ctrl-C's backup: each interruption
    one line, nothing half-written, the last recorded model intact."""
    repo = reproduced_project
    set_params(repo, lambda p: p["train"].update(epochs=200, checkpoint_every=2))
    recorded = (repo / "models/lstm/seed-1.keras").read_bytes()
    proc = start([*DVC, "repro", "train@lstm"], repo)
    for sig, how, epoch in ((signal.SIGINT, "Ctrl-C", 5), (signal.SIGTERM, "SIGTERM", 9)):
        wait_for_line(proc, f"epoch {epoch}/")
        os.killpg(proc.pid, sig)  # as a terminal's Ctrl-C does: the whole process group
        output = proc.communicate(timeout=120)[0]
        assert proc.returncode != 0, output
        assert "Traceback" not in output and "KeyboardInterrupt" not in output, output
        line = next(line for line in output.splitlines() if "interrupted" in line)
        assert line.startswith(f"train lstm: interrupted ({how}); kept the last backups"), line
        assert "(seed 1 after epoch " in line and line.endswith("`dvc repro` runs it again.")
        assert not list((repo / "models").glob(".*tmp*"))
        # DVC removed the stage's outputs before it ran; the line says how to bring back the
        # committed ones, and that advice, run as printed, does.
        advice = output.split("the committed ones come back with `")[1].split("`")[0]
        run(["bash", "-c", advice], repo)
        assert (repo / "models/lstm/seed-1.keras").read_bytes() == recorded
        assert not run(["git", "status", "--porcelain", "--", "metrics"], repo).stdout
        if sig == signal.SIGINT:  # the next repro resumes; SIGTERM cuts that one
            proc = start([*DVC, "repro", "train@lstm"], repo)
            assert "resuming after epoch" in wait_for_line(proc, "resuming after epoch")


@pytest.mark.pipeline
def test_a_full_disk_is_named_and_leaves_nothing_half_written(reproduced_project):
    project = reproduced_project
    set_params(project, lambda p: p["train"].update(epochs=3))  # not the recorded training
    models = project / "models"  # a 64 KB disk over it
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(models)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"a full disk needs a small tmpfs, which this user cannot mount: {mounted}")
    try:
        result = run(TRAIN_LSTM, project, check=False)
        leftovers = list(models.iterdir())
    finally:
        subprocess.run(["umount", str(models)], check=True)
    assert result.returncode == 1
    message = result.stderr.strip().splitlines()
    assert len(message) == 1 and "Traceback" not in result.stderr, result.stderr
    assert message[0].startswith("train lstm: disk full while writing models/.lstm.tmp-")
    assert "free there). Nothing was recorded; free at least " in message[0]
    assert leftovers == []  # no half-written model


@pytest.mark.pipeline
def test_the_readme_cleanup_removes_what_a_full_disk_left_in_the_cache(reproduced_project):
    cache = reproduced_project / ".dvc/cache/files/md5/ab"
    cache.mkdir(parents=True, exist_ok=True)
    half = cache / "cdef0123.5f1c2a.tmp"  # as DVC names a copy in progress
    half.write_bytes(b"half a model")
    run(["bash", "-c", "find \"$(dvc cache dir)\" -name '*.tmp' -delete"], reproduced_project)
    assert not half.exists()
    assert stale(reproduced_project) == set()


def test_the_sound_seeds_are_stored_when_another_diverges_and_nothing_is_written(
    tmp_path, monkeypatch
):
    import argparse
    import shutil

    import stages.train
    from reuters_rnn.data.dataset import sha256_of
    from reuters_rnn.schema.params import load_params
    from tests.tiny_project import PROJECT

    shutil.copy(PROJECT / "params.yaml", tmp_path / "params.yaml")
    monkeypatch.chdir(tmp_path)
    failure = "train lstm seed 2: diverged at epoch 3: train loss nan, not a number. ..."

    def two_seeds(params, model_name, data, backups, out_dir, kept):
        (out_dir / "seed-1.keras").write_bytes(b"a sound model")
        (out_dir / "seed-1.probabilities.npy").write_bytes(b"its probabilities")
        curves = [{"seed": 1, "epoch": 1, "split": "train", "accuracy": 0.5, "loss": 1.0}]
        sound = {
            "seed": 1,
            "fingerprint": "f" * 64,
            "model_sha256": sha256_of(out_dir / "seed-1.keras"),
            "probabilities_sha256": sha256_of(out_dir / "seed-1.probabilities.npy"),
            "curves": curves,
        }
        return [sound, {"seed": 2, "failed": failure}]

    monkeypatch.setattr(stages.train, "train_all", two_seeds)
    args = argparse.Namespace(
        model="lstm",
        data="data/prepared",
        models_out="models/lstm",
        curves_out="metrics/curves/lstm.csv",
        live="metrics/live/lstm.json",
        backups=".train-backups",
        store=".train-store",
    )
    monkeypatch.setattr(stages.train, "stored_runs", lambda *args: {})
    with pytest.raises(FixableError, match="seed 2: diverged at epoch 3") as error:
        stages.train.train_model(args, load_params())
    assert "The sound seeds are kept in .train-store/: the next run reuses them." in str(
        error.value
    )
    assert (tmp_path / ".train-store" / ("f" * 64) / "model.keras").read_bytes() == (
        b"a sound model"
    )
    assert not (tmp_path / "models").exists() or not list((tmp_path / "models").iterdir())
    assert not (tmp_path / "metrics").exists()  # no record of a failed run


@pytest.mark.parametrize(
    ("ending", "status", "out"),
    [
        ("end_process()", 0, "written"),  # success: flushed, status 0, no teardown
        ("end_process_at_exit(); sys.exit(0)", 0, "written"),  # a worker shut down
        ("run_stage(fail, 'prepare'); end_process()", 1, "written"),  # a failure keeps its status
    ],
)
@pytest.mark.pipeline  # starts a process or fits a Keras model
def test_a_process_ends_at_once_only_after_success_with_its_output_flushed(ending, status, out):
    """Stages that loaded Keras and training workers skip the interpreter's teardown
    (reuters_rnn.plumbing.backend.end_process): their buffered output still arrives, and a stage that
    failed still exits non-zero with its one line."""
    code = (
        "import sys\n"
        "from reuters_rnn.plumbing.backend import end_process, end_process_at_exit\n"
        "from reuters_rnn.plumbing.failure import FixableError, run_stage\n"
        "def fail():\n"
        "    raise FixableError('prepare failed: the data is damaged')\n"
        "print('written', end='')\n" + ending
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert (result.returncode, result.stdout) == (status, out)
    assert result.stderr.strip() == ("prepare failed: the data is damaged" if status else "")


EVALUATE_LSTM = [
    *("python", "-m", "stages.evaluate", "lstm", "data/prepared", "models/lstm"),
    *("metrics/runs/lstm.json", "metrics/confusion/lstm.csv", "metrics/predictions/lstm.csv"),
    *("metrics/training/lstm.json", "metrics/curves/lstm.csv"),
]


@pytest.mark.pipeline
@pytest.mark.parametrize(
    ("command", "folder"), [(TRAIN_LSTM, "metrics/curves"), (EVALUATE_LSTM, "metrics/runs")]
)
def test_a_folder_the_stage_may_not_write_is_named_in_one_line(reproduced_project, command, folder):
    with read_only(reproduced_project / folder):
        result = run(command, reproduced_project, check=False)
    message = result.stderr.strip().splitlines()
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert len(message) == 1, message
    assert f": cannot write {folder}/ (" in message[0]
    assert f"`chmod -R u+w {folder}`" in message[0] and "run `dvc repro` again" in message[0]


@pytest.mark.pipeline
def test_a_removed_ensembles_section_is_named_and_its_fix_keeps_the_other_edits(project):
    """DVC cannot read dvc.yaml without the section; validate names it; adding it back as
    docs/trust.md says keeps every other edit (going back to the committed file would not)."""
    set_params(project, lambda p: (p.pop("ensembles"), p["train"].update(epochs=3)))
    status = run([*DVC, "status"], project, check=False)
    assert status.returncode != 0 and "Could not find 'ensembles'" in status.stderr
    validate = run(VALIDATE.split(), project, check=False)
    assert "ensembles: missing (required: `ensembles: {}` for none" in validate.stderr
    trust = (Path(__file__).parents[1] / "docs/trust.md").read_text()
    row = next(line for line in trust.splitlines() if "Could not find 'ensembles'" in line)
    assert VALIDATE in row and "add `ensembles: {}` to `params.yaml`" in row
    with open(project / "params.yaml", "a") as params:
        params.write("ensembles: {}\n")
    run([*DVC, "status"], project)
    run(VALIDATE.split(), project)
    assert yaml.safe_load((project / "params.yaml").read_text())["train"]["epochs"] == 3


@pytest.mark.pipeline
def test_sigterm_to_dvc_alone_stops_its_training_and_nothing_is_written_after(reproduced_project):
    """A scheduler's or a plain `kill` reaches `dvc` only; DVC does not pass it on. The stage
    notices that its dvc process ended, stops as on SIGTERM and writes nothing after."""
    import psutil

    repo = reproduced_project
    set_params(repo, lambda p: p["train"].update(epochs=200, checkpoint_every=2))
    before = lock(repo)
    proc = start([*DVC, "repro", "train@lstm"], repo)
    wait_for_line(proc, "epoch 3/")
    stages = [
        child
        for child in psutil.Process(proc.pid).children(recursive=True)
        if "stages.train" in child.cmdline()
    ]
    assert stages
    os.kill(proc.pid, signal.SIGTERM)  # dvc alone, not its process group
    output = proc.communicate(timeout=120)[0]
    gone, alive = psutil.wait_procs(stages, timeout=60)
    assert not alive, "the training went on after its dvc process ended"
    assert "train lstm: interrupted (the dvc process that ran it ended); kept" in output, output
    assert "Traceback" not in output
    assert lock(repo)["train@lstm"] == before["train@lstm"]  # DVC recorded no training
    assert not list((repo / "models").glob(".*tmp*"))
    advice = output.split("the committed ones come back with `")[1].split("`")[0]
    run(["bash", "-c", advice], repo)
    assert not run(["git", "status", "--porcelain", "--", "metrics"], repo).stdout
    assert (repo / "models/lstm/seed-1.keras").exists()
