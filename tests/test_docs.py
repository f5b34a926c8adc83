"""The README's and the docs' results are the committed reports' numbers: each decimal they state
about a run is one that run's report states (metrics/report.md, whole_set/metrics/report.md, a
search's search/<space>/summary.md, a benchmark's printed output), so a rerun that moves a number
fails here until the text says the new one."""

from __future__ import annotations

import re

import pytest

from tests.tiny_project import PROJECT

README = (PROJECT / "README.md").read_text()
WHOLE_SET = (PROJECT / "docs/whole-set.md").read_text()
DECIMAL = re.compile(r"(?<![\w.])[-+−]?\d+\.\d+(?![\w.])")


def decimals(text: str) -> list[str]:
    return [number.replace("−", "-") for number in DECIMAL.findall(text)]


def section(text: str, start: str, end: str) -> str:
    return text[text.index(start) : text.index(end)]


def stated_in(number: str, report: str) -> bool:
    """Whether `number` is one of the report's numbers, at the precision the README gives; a
    number written without a sign is a size ("0.0062 above"), which the report may sign."""
    places = len(number.split(".")[1])
    value = float(number)
    size = number[0] not in "+-"
    return any(
        abs(value - (abs(float(found)) if size else float(found))) < 0.5 * 10**-places + 1e-12
        for found in re.findall(r"[-+]?\d+\.\d+", report.replace(",", ""))
    )


SELECTION = (PROJECT / "docs/model-selection.md").read_text()
SEARCH = (PROJECT / "docs/search.md").read_text()
SPEED = (PROJECT / "docs/speed.md").read_text()
ROOT, WHOLE = "metrics/report.md", "whole_set/metrics/report.md"
# The whole set's searches: each study's summary and paired comparison, as `report` wrote them.
WHOLE_SEARCHES = sorted(
    str(p.relative_to(PROJECT))
    for name in ("summary.md", "comparison.json")
    for p in (PROJECT / "whole_set/search").glob(f"*/{name}")
)
WHOLE_TESTS = "whole_set/metrics/report.tests.csv"  # every p behind the recommendation


@pytest.mark.parametrize(
    ("page", "start", "end", "reports"),
    [
        (README, "## The result", "**On the whole set**", [ROOT]),
        (README, "**On the whole set**", "## Run it", [WHOLE]),
        # The whole set's result and comparison tables, beside the seed's split's numbers.
        (WHOLE_SET, "## The result", "## Which model to use", [WHOLE, ROOT]),
        # Which model to use, the noise floor, and the findings, as the whole set's report says.
        (WHOLE_SET, "## Which model to use", "| | chosen by", [WHOLE, WHOLE_TESTS]),
        (
            WHOLE_SET,
            "- **LSTM over vanilla",
            "Against the public record",
            [WHOLE, WHOLE_TESTS, ROOT],
        ),
        # How the whole set's models were chosen, and the frontier: its searches and reports.
        (
            WHOLE_SET,
            "| | chosen by",
            "## Do the published",
            [WHOLE, WHOLE_TESTS, ROOT, *WHOLE_SEARCHES, "benchmarks/tfidf_warm.md"],
        ),
        # How the models were chosen: each search's committed summary, and the root's report.
        (
            SELECTION,
            "## Beyond the published four",
            "## `swem`, one thing",
            ["search/model_selection/summary.md"],
        ),
        (
            SELECTION,
            "## `swem`, one thing",
            "## The linear SVM",
            ["search/swem_variations/summary.md"],
        ),
        (SELECTION, "## The linear SVM", "## Ensembles", ["search/tfidf_svm/summary.md", ROOT]),
        (SELECTION, "## Ensembles", "## Searching further", ["search/ensembles/summary.md", ROOT]),
        # The speed benchmark's tables, as `python benchmarks/speed.py --out` wrote them.
        (
            SPEED,
            "Four published models, one seed",
            "- **The whole default run",
            ["benchmarks/results.md"],
        ),
        # DVC's YAML parser, as its benchmark printed it.
        (
            SPEED,
            "- **DVC's own work",
            "- **The held-out curves",
            ["benchmarks/dvc_yaml.md"],
        ),
        # The pruners, as their benchmark printed them.
        (
            SEARCH,
            "- **Multi-fidelity",
            "- **One line per finished trial",
            ["benchmarks/pruners.md"],
        ),
    ],
)
def test_every_result_number_is_in_its_committed_report(page, start, end, reports):
    # A CSV's commas part its fields (a Markdown report's are thousands separators).
    text = "\n".join(
        (PROJECT / report).read_text().replace(",", " " if report.endswith(".csv") else ",")
        for report in reports
    )
    missing = [n for n in decimals(section(page, start, end)) if not stated_in(n, text)]
    assert not missing, f"numbers that {reports} do not state: {missing}"


def test_a_stale_number_is_caught():
    report = "| lstm vs vanilla_rnn | +0.0985 | 4.2469 | 0.0255 |"
    assert stated_in("0.03", report) and stated_in("+0.0985", report)
    assert not stated_in("0.0004", report) and not stated_in("+0.015", report)
