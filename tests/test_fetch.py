"""fetch: Keras's cache/download with the sha256 check, and nothing written on failure."""

from __future__ import annotations

import hashlib
import shutil

import pytest

from reuters_rnn.data.dataset import sha256_of
from reuters_rnn.data.fetching import FetchError, fetch
from reuters_rnn.schema.sections import DataParams
from tests.tiny_project import (
    PROJECT,
    REAL_NPZ,
    REAL_SHA256,
    needs_real_data,
    run,
    write_synthetic_npz,
)

# Port 9 (discard) on loopback: refused at once, so a "download" fails fast and offline.
UNREACHABLE = "http://127.0.0.1:9/reuters.npz"


def data_params(sha256: str, url: str = UNREACHABLE) -> DataParams:
    return DataParams(
        url=url, sha256=sha256, num_words=300, maxlen=30, test_split=0.3, seed=113, padding="post"
    )


def test_cached_file_with_matching_hash_is_copied_offline(keras_home, tmp_path):
    sha = write_synthetic_npz(keras_home / "datasets" / "reuters.npz")
    out = fetch(data_params(sha), tmp_path / "raw" / "reuters.npz")
    assert sha256_of(out) == sha
    assert sorted(p.name for p in out.parent.iterdir()) == ["reuters.npz"]  # no temp files left


def test_tampered_cache_file_is_refused_and_nothing_is_written(keras_home, tmp_path):
    cached = keras_home / "datasets" / "reuters.npz"
    good = write_synthetic_npz(cached)
    cached.write_bytes(cached.read_bytes()[:-10] + b"tampered!!")
    found = hashlib.sha256(cached.read_bytes()).hexdigest()
    out = tmp_path / "raw" / "reuters.npz"
    with pytest.raises(FetchError) as info:
        fetch(data_params(good), out)
    message = str(info.value)
    assert good in message and found in message  # expected and found hashes
    assert str(cached) in message  # where to put the genuine file
    assert not out.exists()
    assert not out.parent.exists() or not any(out.parent.iterdir())  # no temporary file either


def test_missing_file_and_unreachable_url_say_how_to_provide_it(keras_home, tmp_path):
    out = tmp_path / "raw" / "reuters.npz"
    with pytest.raises(FetchError) as info:
        fetch(data_params("0" * 64), out)
    message = str(info.value)
    assert "does not exist" in message and UNREACHABLE in message
    assert f"copy the genuine file to {keras_home / 'datasets' / 'reuters.npz'}" in message
    assert not out.exists()


@pytest.mark.pipeline  # starts a process or fits a Keras model
def test_fetch_stage_fails_with_a_message_and_no_output(project, keras_home):
    (keras_home / "datasets" / "reuters.npz").write_bytes(b"not the data")
    result = run(["python", "-m", "stages.fetch", "data/raw/reuters.npz"], project, check=False)
    assert result.returncode != 0
    assert "fetch failed" in result.stderr and "sha256" in result.stderr
    assert not (project / "data" / "raw" / "reuters.npz").exists()


@needs_real_data
def test_real_file_passes_the_published_hash(keras_home, tmp_path):
    shutil.copy(REAL_NPZ, keras_home / "datasets" / "reuters.npz")
    url = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/reuters.npz"
    out = fetch(data_params(REAL_SHA256, url), tmp_path / "reuters.npz")
    assert sha256_of(out) == REAL_SHA256
    assert f"sha256: {REAL_SHA256}" in (PROJECT / "params.yaml").read_text()
