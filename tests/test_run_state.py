"""What a training keeps between processes: a backup is resumed only by the very same training,
and only when resuming is on; one process per run."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from reuters_rnn.data.dataset import sha256_of
from reuters_rnn.fit.run_state import (
    RunBusy,
    bound_store,
    clear_stale_backup,
    lock_backup,
    run_fingerprint,
    store_run,
    stored_runs,
    take_stored,
)
from reuters_rnn.schema.params import parse_params
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

    from reuters_rnn.plumbing import guard

    copy = tmp_path / "code"
    for package in guard.CODE:
        shutil.copytree(PROJECT / package, copy / package)
    monkeypatch.setattr(guard, "PROJECT", copy)
    same = fingerprint(tmp_path)
    with (copy / "stages/report.py").open("a") as report:
        report.write("# edited\n")
    assert fingerprint(tmp_path) == same
    with (copy / "reuters_rnn/fit/recipe.py").open("a") as recipe:
        recipe.write("# edited\n")
    assert fingerprint(tmp_path) != same


def test_a_whole_set_stage_sees_edits_to_the_code_one_folder_up(monkeypatch):
    """whole_set/dvc.yaml declares `../stages/report.py`: the mid-run check compares it as the
    project root names it, so an edit there fails the stage (and one it does not import, not)."""
    from reuters_rnn.plumbing import guard

    monkeypatch.chdir(PROJECT / "whole_set")
    monkeypatch.setenv("DVC_STAGE", "report")
    watcher = guard.InputsGuard("report")
    edited = {**watcher.code, "stages/report.py": "0" * 64, "stages/train.py": "1" * 64}
    monkeypatch.setattr(guard, "code_hashes", lambda files=None: edited)
    assert watcher.changes() == ([], ["stages/report.py edited"])


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


def stored_seed(tmp_path, fingerprint: str = "f" * 64, seed: int = 1) -> tuple[Path, dict]:
    """A trained seed's files in a run's output folder, and its record."""
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    (out / f"seed-{seed}.keras").write_bytes(b"model" * 100)
    (out / f"seed-{seed}.probabilities.npy").write_bytes(b"probabilities")
    record = {
        "seed": seed,
        "fingerprint": fingerprint,
        "model_sha256": sha256_of(out / f"seed-{seed}.keras"),
        "probabilities_sha256": sha256_of(out / f"seed-{seed}.probabilities.npy"),
        "curves": [{"seed": seed, "epoch": 1, "split": "train", "accuracy": 0.5, "loss": 1.0}],
    }
    return out, record


DAMAGES = {
    "its record cut short": lambda entry: (entry / "record.json").write_text('{"seed": 1'),
    "its model changed": lambda entry: (entry / "model.keras").write_bytes(b"other"),
    "a file gone": lambda entry: (entry / "probabilities.npy").unlink(),
}


def test_a_stored_seed_is_taken_back_by_its_fingerprint(tmp_path, monkeypatch):
    out, record = stored_seed(tmp_path)
    store = tmp_path / ".train-store"
    store_run(store, record, out)
    params = parse_params(RAW)
    monkeypatch.setattr(
        "reuters_rnn.fit.run_state.run_fingerprint", lambda *a: record["fingerprint"]
    )
    kept = stored_runs(params, "lstm", str(tmp_path), store)
    assert set(kept) == set(params.train.seeds) and kept[1] == record
    again = tmp_path / "again"
    again.mkdir()
    take_stored(store, kept[1], again)
    assert (again / "seed-1.keras").read_bytes() == (out / "seed-1.keras").read_bytes()


@pytest.mark.parametrize("damage", DAMAGES)
def test_a_damaged_stored_seed_is_trained_again_not_used(tmp_path, monkeypatch, damage):
    out, record = stored_seed(tmp_path)
    store = tmp_path / ".train-store"
    store_run(store, record, out)
    DAMAGES[damage](store / record["fingerprint"])
    monkeypatch.setattr(
        "reuters_rnn.fit.run_state.run_fingerprint", lambda *a: record["fingerprint"]
    )
    assert stored_runs(parse_params(RAW), "lstm", str(tmp_path), store) == {}
    assert not (store / record["fingerprint"]).exists()  # removed: the next run stores it anew


def test_the_store_keeps_to_its_bound_dropping_the_seeds_used_longest_ago(tmp_path):
    store = tmp_path / ".train-store"
    for n, fingerprint in enumerate(("a" * 64, "b" * 64, "c" * 64)):
        out, record = stored_seed(tmp_path, fingerprint)
        store_run(store, record, out)
        os.utime(store / fingerprint, (1000 + n, 1000 + n))
    os.utime(store / ("a" * 64))  # used just now
    entry = sum(f.stat().st_size for f in (store / ("a" * 64)).iterdir())
    removed = bound_store(store, 2 * entry)
    assert [path.name for path in removed] == ["b" * 64]
    assert sorted(path.name for path in store.iterdir()) == ["a" * 64, "c" * 64]
