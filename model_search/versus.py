"""Two studies' best trials, paired over the same fits: `python -m model_search compare swem
--against tfidf_logreg`. Trials of different studies pair fit for fit when the studies share the
folds, the seeds and training settings, and the training data; this checks that first.

Writes search/<study>/versus_<other>.json beside the study's report, and prints one line.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import optuna

from model_search.results import settings
from model_search.settings import Settings
from model_search.space import SearchError
from model_search.stored import load
from model_search.study import score_of
from reuters_rnn.evaluation.statistics import paired
from reuters_rnn.plumbing.atomic import write_json

# What two studies must share for their fits to pair (the rest of the identity is the space).
SHARED = ("folds", "train", "num_words")


def fits_of(study: optuna.Study) -> dict[str, Any]:
    """What a study's identity says of its fits: folds, training settings, words, data."""
    identity = study.user_attrs.get("identity")
    if not isinstance(identity, dict):
        raise SearchError(
            f"search: study {study.study_name!r} was stored by an earlier version of this command; "
            f"`reuters-search run {study.study_name}` continues it and records its "
            "settings again, then compare"
        )
    return {key: identity.get(key) for key in (*SHARED, "data")}


def described(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> dict[str, Any]:
    return {
        "study": study.study_name,
        "trial": trial.number,
        "model": trial.user_attrs.get("model"),
        "set": settings(trial.user_attrs.get("set", {})),
        "accuracy": round(score_of(trial), 4),
    }


def compare(args: Settings) -> None:
    """The best trial of `space` against the best trial of `--against`, paired."""
    study = load(args).study
    if args.against is None:
        raise SearchError("search: compare needs --against <space>")
    other_args = replace(args, space=args.against, study=None)
    other = load(other_args).study
    ours, theirs = fits_of(study), fits_of(other)
    if ours != theirs:
        differ = ", ".join(key for key in ours if ours[key] != theirs[key])
        raise SearchError(
            f"search: {study.study_name} and {other.study_name} were not scored on the same fits "
            f"({differ} differ), so their trials do not pair"
        )
    best, rival = study.best_trial, other.best_trial
    difference, p = paired(
        best.user_attrs["accuracies"], rival.user_attrs["accuracies"], ours.get("folds")
    )
    ours_best, theirs_best = described(study, best), described(other, rival)
    facts = {
        "best": ours_best,
        "against": theirs_best,
        "difference": round(difference, 4),
        "p": round(p, 4),
        "fits": len(best.user_attrs["accuracies"]),
    }
    out = Path(args.out or f"search/{study.study_name}") / f"versus_{other.study_name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    write_json(out, facts)
    print(
        f"search {study.study_name}: best trial {best.number} ({ours_best['accuracy']:.4f}) "
        f"against {other.study_name}'s best, trial {rival.number} "
        f"({theirs_best['accuracy']:.4f}): {difference:+.4f} over the same {facts['fits']} "
        f"fits, paired t-test p = {p:.3f}; wrote {out}"
    )
