"""What a training keeps between processes: a backup is resumed only by the very same training,
and only when resuming is on; one process per run."""

from __future__ import annotations

import os
import subprocess

import pytest
import yaml

from reuters_rnn.params import parse_params
from reuters_rnn.run_state import (
    DamagedRecord,
    RunBusy,
    clear_stale_backup,
    lock_backup,
    reusable_runs,
    run_fingerprint,
)
from tests.tiny_project import PROJECT

RAW = yaml.safe_load((PROJECT / "params.yaml").read_text())


def fingerprint(tmp_path, edit=lambda raw: None, seed: int = 1) -> str:
    raw = yaml.safe_load(yaml.safe_dump(RAW))
    edit(raw)
    (tmp_path / "manifest.json").write_text('{"x_train.npy": "0123"}')
    return run_fingerprint(parse_params(raw), "lstm", seed, tmp_path)


def test_the_fingerprint_changes_with_what_decides_the_result_and_only_that(tmp_path):
    same = fingerprint(tmp_path)
    assert fingerprint(tmp_path) == same
    assert fingerprint(tmp_path, lambda r: r["models"]["lstm"].update(units=[7])) != same
    assert fingerprint(tmp_path, lambda r: r["train"].update(epochs=3)) != same
    assert fingerprint(tmp_path, seed=2) != same
    # Which seeds run, resuming and how often backups are written do not change a result.
    assert fingerprint(tmp_path, lambda r: r["train"].update(seeds=[1, 9])) == same
    assert fingerprint(tmp_path, lambda r: r["train"].update(resume=False)) == same
    assert fingerprint(tmp_path, lambda r: r["train"].update(checkpoint_every=3)) == same
    (tmp_path / "manifest.json").write_text('{"x_train.npy": "4567"}')  # other data
    assert run_fingerprint(parse_params(RAW), "lstm", 1, tmp_path) != same


def test_the_fingerprint_covers_the_training_code_only(tmp_path, monkeypatch):
    """Editing the report (no part of a training) keeps every trained seed; editing a module the
    train stage imports retrains them."""
    import shutil

    from reuters_rnn import guard

    copy = tmp_path / "code"
    for package in guard.CODE:
        shutil.copytree(PROJECT / package, copy / package)
    monkeypatch.setattr(guard, "PROJECT", copy)
    same = fingerprint(tmp_path)
    with (copy / "stages/report.py").open("a") as report:
        report.write("# edited\n")
    assert fingerprint(tmp_path) == same
    with (copy / "reuters_rnn/recipe.py").open("a") as recipe:
        recipe.write("# edited\n")
    assert fingerprint(tmp_path) != same


def test_a_whole_set_stage_sees_edits_to_the_code_one_folder_up(monkeypatch):
    """whole_set/dvc.yaml declares `../stages/report.py`: the mid-run check compares it as the
    project root names it, so an edit there fails the stage (and one it does not import, not)."""
    from reuters_rnn import guard

    monkeypatch.chdir(PROJECT / "whole_set")
    monkeypatch.setenv("DVC_STAGE", "report")
    watcher = guard.InputsGuard("report")
    edited = {**watcher.code, "stages/report.py": "0" * 64, "stages/train.py": "1" * 64}
    monkeypatch.setattr(guard, "code_hashes", lambda files=None: edited)
    assert watcher.changes() == ["stages/report.py edited"]


@pytest.mark.parametrize(
    ("stamp", "resume", "kept"),
    [("same", True, True), ("other spec", True, False), ("same", False, False)],
)
def test_a_backup_is_kept_only_for_the_same_training_with_resume_on(tmp_path, stamp, resume, kept):
    backup = tmp_path / "lstm-1"
    (backup / "state").mkdir(parents=True)
    (backup / "state" / "epoch.json").write_text('{"epoch": 4}')
    (backup / "fingerprint").write_text(stamp)
    clear_stale_backup(backup, "same", resume)
    assert (backup / "state" / "epoch.json").exists() == kept
    assert (backup / "fingerprint").read_text() == "same"  # the next backup is this training's


def test_a_second_lock_on_the_same_run_names_the_process_holding_it(tmp_path):
    held = lock_backup(tmp_path / "lstm-1", "train lstm seed 1")
    try:
        with pytest.raises(RunBusy, match=rf"another process \(pid {os.getpid()}\) is training"):
            lock_backup(tmp_path / "lstm-1", "train lstm seed 1")
    finally:
        held.close()
    lock_backup(tmp_path / "lstm-1", "train lstm seed 1").close()  # free again once released


DAMAGES = {
    "cut short": lambda path: path.write_text(path.read_text()[:25]),
    "a merge conflict": lambda path: path.write_text(
        '<<<<<<< HEAD\n"a,b\n=======\n' + path.read_text() + ">>>>>>> theirs\n"
    ),
    "a folder in its place": lambda path: (path.unlink(), path.mkdir(), (path / "x").touch()),
}


@pytest.mark.parametrize("damage", DAMAGES)
@pytest.mark.parametrize("record", ["metrics/training/lstm.json", "metrics/curves/lstm.csv"])
def test_a_damaged_training_record_is_named_and_its_advice_works(tmp_path, record, damage):
    """A cut-short, conflicted or replaced record is one line naming the file; the removal it
    advises, run as printed, lets the next run train every seed."""
    summary, curves = tmp_path / "metrics/training/lstm.json", tmp_path / "metrics/curves/lstm.csv"
    for path in (summary, curves):
        path.parent.mkdir(parents=True)
    summary.write_text('{"model": "lstm", "seeds": [{"seed": 1, "fingerprint": "0"}]}\n')
    curves.write_text("seed,epoch,split,accuracy,loss\n1,1,train,0.5,1.0\n")
    DAMAGES[damage](tmp_path / record)
    args = (parse_params(RAW), "lstm", str(tmp_path), tmp_path / "models", summary, curves)
    with pytest.raises(DamagedRecord) as error:
        reusable_runs(*args)
    line = str(error.value)
    assert line.startswith(f"{tmp_path / record} cannot be read (") and "\n" not in line
    advice = line.split("Remove it (`")[1].split("`")[0]
    assert advice == f"rm -rf {tmp_path / record}"
    subprocess.run(advice, shell=True, check=True)
    assert reusable_runs(*args) == {}
