"""The locked install: requirements/run.lock (README command 1) and dev.lock (command 2, CI) pin
every distribution with hashes, and agree with pyproject.toml's own pins."""

from __future__ import annotations

import re
import tomllib

import pytest

from tests.tiny_project import PROJECT

PYPROJECT = tomllib.loads((PROJECT / "pyproject.toml").read_text())
PIN = re.compile(r"^([A-Za-z0-9_.\[\],-]+)==([^;\s]+)")


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name.split("[")[0]).lower()


def locked(name: str) -> dict[str, str]:
    """name -> version of every distribution a lock pins; each must carry its hashes."""
    text = (PROJECT / "requirements" / name).read_text()
    entries = re.split(r"\n(?=[A-Za-z0-9])", text.strip())
    pins = {}
    for entry in entries:
        if entry.startswith("#"):
            continue
        found = PIN.match(entry)
        assert found, f"{name}: not a pinned requirement: {entry.splitlines()[0]}"
        assert "--hash=sha256:" in entry, f"{name}: {found[1]} has no hash"
        pins[canonical(found[1])] = found[2]
    return pins


def wanted(extras: tuple[str, ...]) -> dict[str, str]:
    """pyproject.toml's pins for Linux x86-64 (name -> version), with these extras."""
    project = PYPROJECT["project"]
    lines = list(project["dependencies"])
    for extra in extras:
        lines += project["optional-dependencies"][extra]
    pins = {}
    for line in lines:
        requirement, _, marker = line.partition(";")
        if "sys_platform != 'linux'" in marker:
            continue
        found = PIN.match(requirement.strip())
        if found:  # a self-reference (reuters-rnn[s3,search]) names extras, not a pin
            pins[canonical(found[1])] = found[2]
    return pins


@pytest.mark.parametrize(
    ("lock", "extras"), [("run.lock", ()), ("dev.lock", ("dev", "jax", "s3", "search"))]
)
def test_each_lock_pins_what_pyproject_pins_with_hashes(lock, extras):
    pins = locked(lock)
    differ = {
        name: (version, pins.get(name))
        for name, version in wanted(extras).items()
        if pins.get(name) != version
    }
    assert not differ, (
        f"requirements/{lock} and pyproject.toml disagree (pyproject, lock): {differ}; "
        "regenerate the locks as the README says (Updating the locked install)"
    )
    assert "reuters-rnn" not in pins  # the project itself is installed from the checkout


def test_the_run_lock_holds_no_test_tools():
    assert "pytest" not in locked("run.lock") and "pytest" in locked("dev.lock")
