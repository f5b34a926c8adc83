"""Which model to use, computed: the cheapest deployable candidate that no other beats.

A candidate is what a team can ship: one trained model (any of its seeds), one ensemble, one
baseline. The rule, declared once here and printed with its result:

- Every pair of candidates is tested on the same test newswires in two ways: seeds pooled (the
  paired t-test over the newswires, reuters_rnn.evaluation.resampling.pooled_p) and as shipped, one trained model against
  another (McNemar's exact test, seed s against seed s where the two share seeds, a one-run
  candidate against each seed of the other).
- All those p-values are one family: Holm's correction over every test the report reads.
- B beats A when B's mean accuracy is higher and both kinds of test reject "no difference"
  (Holm-adjusted p < alpha) for every shipped pair: whichever seed a team ships, B is better.
- The recommendation is the cheapest candidate no other beats: fewest weights (what it costs to
  ship and serve, and the same on every run), then fewest training seconds per run. A tie is an
  honest result: the cheaper side of it is recommended.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np
import pandas as pd

from reuters_rnn.evaluation.resampling import holm, mcnemar, pooled_p

RULE = (
    "The cheapest candidate (fewest weights, then training seconds per run) that no other beats. B "
    "beats A when its accuracy is higher and, after Holm's correction over all {tests} tests "
    "read on the test split ({pairs} pairs), both the seed-pooled paired t-test over the newswires and "
    "McNemar's exact test of every shipped seed (paired by seed where both have seeds) give "
    "p < {alpha:g}."
)


@dataclass(frozen=True)
class Candidate:
    """A row of the report a team could ship: its mean accuracy, its (runs, newswires) hits with
    the run names (seeds: "1", "2", ...; "pooled" or "" for a single run) and its cost."""

    name: str
    accuracy: float
    hits: np.ndarray
    runs: tuple[str, ...]
    train_seconds: float
    weights: int


@dataclass(frozen=True)
class Decision:
    recommended: str
    rule: str
    tests: pd.DataFrame  # one row per test: pair, kind, run, p, holm_p
    beaten_by: dict[str, list[str]]  # each candidate's betters (empty: not beaten)


def shipped_pairs(a: Candidate, b: Candidate) -> list[tuple[str, int, int]]:
    """(run name, row of a, row of b) for each one-model-against-one-model comparison: paired by
    seed where both have the same runs, else every run of the one against the other's only run
    (or, with several runs on both sides and other seeds, each row against each row)."""
    if a.runs == b.runs:
        return [(run, i, i) for i, run in enumerate(a.runs)]
    return [
        (f"{ra or '-'}/{rb or '-'}", i, j)
        for i, ra in enumerate(a.runs)
        for j, rb in enumerate(b.runs)
    ]


def pair_tests(candidates: list[Candidate]) -> pd.DataFrame:
    """Every test the rule reads, unadjusted: per pair, the pooled test and each shipped pair."""
    rows = []
    for a, b in combinations(candidates, 2):
        pooled = pooled_p(a.hits, b.hits)
        rows.append({"a": a.name, "b": b.name, "test": "pooled", "run": "", "p": pooled})
        for run, i, j in shipped_pairs(a, b):
            p = mcnemar(a.hits[i], b.hits[j])
            rows.append({"a": a.name, "b": b.name, "test": "mcnemar", "run": run, "p": p})
    tests = pd.DataFrame(rows, columns=["a", "b", "test", "run", "p"])
    tests["holm_p"] = holm(tests["p"]) if len(tests) else []
    return tests


def decide(candidates: list[Candidate], alpha: float) -> Decision:
    """The recommendation under the rule, with every test behind it."""
    tests = pair_tests(candidates)
    by_name = {c.name: c for c in candidates}
    beaten_by: dict[str, list[str]] = {c.name: [] for c in candidates}
    for (a, b), group in tests.groupby(["a", "b"], sort=False):
        if (group["holm_p"] < alpha).all():
            better, worse = (b, a) if by_name[b].accuracy > by_name[a].accuracy else (a, b)
            if by_name[better].accuracy != by_name[worse].accuracy:
                beaten_by[worse].append(better)
    standing = [c for c in candidates if not beaten_by[c.name]]
    cheapest = min(standing, key=lambda c: (c.weights, c.train_seconds, -c.accuracy))
    rule = RULE.format(
        tests=len(tests), pairs=len(candidates) * (len(candidates) - 1) // 2, alpha=alpha
    )
    return Decision(cheapest.name, rule, tests, beaten_by)


def to_markdown(decision: Decision, candidates: list[Candidate]) -> list[str]:
    """The report's section: the recommendation, the rule, and each candidate's standing."""
    chosen = decision.recommended
    rows = []
    for c in sorted(candidates, key=lambda c: -c.accuracy):
        against = decision.tests[
            ((decision.tests["a"] == c.name) & (decision.tests["b"] == chosen))
            | ((decision.tests["b"] == c.name) & (decision.tests["a"] == chosen))
        ]
        pooled = against.loc[against["test"] == "pooled", "holm_p"]
        shipped = against.loc[against["test"] == "mcnemar", "holm_p"]
        rows.append(
            {
                "candidate": f"**{c.name}**" if c.name == chosen else c.name,
                "accuracy": f"{c.accuracy:.4f}",
                "train s/run": f"{c.train_seconds:.1f}",
                "weights": f"{c.weights:,}",
                f"vs {chosen}: pooled Holm p": f"{pooled.iloc[0]:.4f}" if len(pooled) else "",
                "as shipped: Holm p (max)": f"{shipped.max():.4f}" if len(shipped) else "",
                "beaten by": ", ".join(decision.beaten_by[c.name]) or "none",
            }
        )
    return [
        "## Which model to use",
        "",
        f"**{chosen}**. Rule: {decision.rule} Every test is in the report's tests CSV.",
        "",
        pd.DataFrame(rows).to_markdown(index=False, disable_numparse=True),
    ]
