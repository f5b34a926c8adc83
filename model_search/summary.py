"""How a search's results read: the summary table for people (summary.md) and the plots for
`dvc plots show` (the dvc.yaml beside the results, templates in .dvc/plots/).
"""

from __future__ import annotations

import pandas as pd

from model_search.candidates import CURRENT


def plots_yaml(name: str, tables: dict) -> dict:
    """The dvc.yaml beside the results: its plots, for `dvc plots show` (templates in
    .dvc/plots/)."""
    accuracy = "cross-validated accuracy"
    plots = [
        {
            "history.csv": {
                "x": "trial",
                "y": ["accuracy", "best"],
                "template": "search_history",
                "y_label": accuracy,
                "title": f"search {name}: {accuracy} per trial, and the best so far",
            }
        }
    ]
    for key, (_, template) in tables.items():
        axes = (
            {"x": "accuracy", "y": "value"}
            if template == "search_choices"
            else {"x": "value", "y": "accuracy"}
        )
        labels = (
            {"x_label": key, "y_label": accuracy}
            if axes["x"] == "value"
            else {"x_label": accuracy, "y_label": key}
        )
        plots.append(
            {
                f"by_{key}.csv": {
                    **axes,
                    **labels,
                    "template": template,
                    "title": f"search {name}: {accuracy} per {key} (each trial)",
                }
            }
        )
    return {"plots": plots}


def summary_markdown(
    name: str, model: str, table: pd.DataFrame, facts: dict, header: str, sections=None
) -> str:
    """The trials table for people: best first, each with its paired difference from the
    current model (same fits) and seconds per fit; a pruned trial with the fits it ran and their
    mean. `sections`: where params.yaml keeps each
    baseline and ensemble (every other name is under models:)."""
    lines = [
        f"# Search `{name}`",
        "",
        header,
        "",
        "| trial | settings | CV accuracy | vs current (paired) | p | s/fit |",
        "| ---: | --- | ---: | ---: | ---: | ---: |",
    ]
    pruned_last = table.assign(_pruned=table["state"] == "pruned")
    ordered = pruned_last.sort_values(["_pruned", "accuracy"], ascending=[True, False])
    for row in ordered.itertuples():
        vs, p = row.vs_current, row.p
        name = f"{row.candidate}: " if "candidate" in table and row.candidate != CURRENT else ""
        where = (sections or {}).get(row.model, "models")
        what = row.set if row.model == model else f"{where}.{row.model} {row.set}"
        lines.append(
            f"| {row.trial} | {name}{what}{' (current)' if row.current else ''}"
            f"{f' (pruned after {row.pruned_at})' if row.state == 'pruned' else ''} "
            f"| {row.accuracy:.4f} ± {row.std:.4f} | {'' if pd.isna(vs) else f'{vs:+.4f}'} "
            f"| {'' if pd.isna(p) else f'{p:.3f}'} | {row.fit_seconds / max(1, row.fits):.1f} |"
        )
    if facts.get("current_trial") is not None:
        lines += [
            "",
            f"Best: trial {facts['best_trial']}, {facts['best_accuracy']:.4f}; the current model "
            f"(trial {facts['current_trial']}) {facts['current_accuracy']:.4f}: difference "
            f"{facts['difference']:+.4f} over the same {facts['fits']} fits, paired t-test "
            f"p = {facts['p']:.3f}.",
        ]
    return "\n".join(lines) + "\n"
