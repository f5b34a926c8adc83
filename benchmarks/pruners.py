"""Which pruner, measured on one study: the same TPE space searched with each pruner on the same
budget of fits (the compute: a pruned trial's spared fits go to other trials), in this process,
one after the other, for several sampler seeds. Prints, per pruner and seed: wall seconds, fits,
trials complete and pruned, the best cross-validated accuracy among complete trials; then per
pruner the mean best and the seconds as a ratio of the run without pruning.

Run in a project whose `data/prepared` exists (`dvc repro prepare`), for example:

    python benchmarks/pruners.py --space tfidf_svm --fits 150
    python benchmarks/pruners.py --space swem --fits 100 --seeds 1
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import optuna

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from model_search.cross_validation import training_split  # noqa: E402
from model_search.objective import objective_for  # noqa: E402
from model_search.search_file import load_search, searched_params  # noqa: E402
from model_search.study import enqueue_current, pruner_for, sampler_for  # noqa: E402
from reuters_rnn.plumbing.backend import import_keras, use_backend  # noqa: E402
from reuters_rnn.schema.params import load_params  # noqa: E402

PRUNERS = ("none", "median", "successive_halving", "hyperband")


def run(params, search, space, x, labels, fits: int) -> dict:
    """One search of `space` until its trials have run `fits` fits; what it cost and found."""
    study = optuna.create_study(
        direction="maximize", sampler=sampler_for(space, 0), pruner=pruner_for(space, search)
    )
    enqueue_current(study, params, space)
    objective = objective_for(params, search, space, x, labels)

    def spent(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        if sum(t.user_attrs.get("fits", 0) for t in study.trials) >= fits:
            study.stop()

    start = time.perf_counter()
    study.optimize(objective, n_trials=10 * fits, callbacks=[spent])
    states = [trial.state for trial in study.trials]
    complete = [t.value for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    return {
        "seconds": time.perf_counter() - start,
        "fits": sum(trial.user_attrs.get("fits", 0) for trial in study.trials),
        "complete": len(complete),
        "pruned": states.count(optuna.trial.TrialState.PRUNED),
        "best": max(v for v in complete if v is not None),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--space", default="tfidf_svm", help="a TPE space of the search file")
    parser.add_argument("--search-file", default="search.yaml")
    parser.add_argument("--fits", type=int, default=150, help="the fits each search may run")
    parser.add_argument("--seeds", type=int, nargs="*", help="train.seeds for the folds")
    parser.add_argument("--sampler-seeds", type=int, nargs="*", default=[0, 1, 2])
    parser.add_argument("--pruners", nargs="*", default=list(PRUNERS), choices=PRUNERS)
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    params = load_params()
    search = load_search(args.search_file, params, args.space)
    params = searched_params(params, search, args.search_file)
    if args.seeds:
        train = params.train.model_copy(update={"seeds": tuple(args.seeds)})
        params = params.model_copy(update={"train": train})
    use_backend(params.train.backend, threads=1)
    import_keras()
    x, labels, _ = training_split("data/prepared")
    found: dict[str, list[dict]] = {}
    for pruner in args.pruners:
        for seed in args.sampler_seeds:
            space = search.spaces[args.space].model_copy(update={"pruner": pruner, "seed": seed})
            result = run(params, search, space, x, labels, args.fits)
            found.setdefault(pruner, []).append(result)
            print(
                f"{pruner:>18} seed {seed}: {result['seconds']:6.1f} s, {result['fits']:4d} fits, "
                f"{result['complete']:3d} complete + {result['pruned']:3d} pruned, best CV "
                f"{result['best']:.4f}",
                flush=True,
            )
    base = sum(r["seconds"] for r in found.get("none", [])) or None
    for pruner, results in found.items():
        best = sum(r["best"] for r in results) / len(results)
        seconds = sum(r["seconds"] for r in results)
        ratio = f", {seconds / base:.2f}x the seconds without pruning" if base else ""
        print(f"{pruner:>18}: mean best CV {best:.4f} over {len(results)} searches{ratio}")


if __name__ == "__main__":
    main()
