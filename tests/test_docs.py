"""The README's results are the committed reports' numbers: each decimal it states about a run is
one that run's report states (metrics/report.md, whole_set/metrics/report.md), so a rerun that
moves a number fails here until the README says the new one."""

from __future__ import annotations

import re

import pytest

from tests.tiny_project import PROJECT

README = (PROJECT / "README.md").read_text()
DECIMAL = re.compile(r"(?<![\w.\[])[-+−]?\d+\.\d+(?![\w.])")


def decimals(text: str) -> list[str]:
    return [number.replace("−", "-") for number in DECIMAL.findall(text)]


def section(start: str, end: str) -> str:
    return README[README.index(start) : README.index(end)]


def stated_in(number: str, report: str) -> bool:
    """Whether `number` is one of the report's numbers, at the precision the README gives."""
    places = len(number.split(".")[1])
    value = float(number)
    return any(
        abs(value - float(found)) < 0.5 * 10**-places + 1e-12
        for found in re.findall(r"[-+]?\d+\.\d+", report.replace(",", ""))
    )


@pytest.mark.parametrize(
    ("start", "end", "report"),
    [
        ("## The result", "**On the whole set**", "metrics/report.md"),
        ("**On the whole set**", "## Run it", "whole_set/metrics/report.md"),
    ],
)
def test_every_result_number_in_the_readme_is_in_its_committed_report(start, end, report):
    text = (PROJECT / report).read_text()
    missing = [n for n in decimals(section(start, end)) if not stated_in(n, text)]
    assert not missing, f"README numbers that {report} does not state: {missing}"


def test_a_stale_number_is_caught():
    report = "| lstm vs vanilla_rnn | +0.0985 | 4.2469 | 0.0255 |"
    assert stated_in("0.03", report) and stated_in("+0.0985", report)
    assert not stated_in("0.0004", report) and not stated_in("+0.015", report)
