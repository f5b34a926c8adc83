"""Render one of `dvc plots show`'s plots to a PNG (for the README), offline, with vl-convert.

    python tools/plot_png.py "Held-out accuracy" docs/accuracy.png

Takes the first plot whose title starts with the given text, exactly as DVC fills its template.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("title", help="the start of the plot's title")
    parser.add_argument("out", type=Path, help="the PNG to write")
    parser.add_argument("--scale", type=float, default=2.0)
    args = parser.parse_args()
    import vl_convert

    shown = subprocess.run(
        [sys.executable, "-m", "dvc", "plots", "show", "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    specs = [
        item["content"]
        for plots in json.loads(shown.stdout)["data"].values()
        for item in plots
        if isinstance(item.get("content"), dict)
        and str(item["content"].get("title", "")).startswith(args.title)
    ]
    if not specs:
        raise SystemExit(f"no plot of `dvc plots show` has a title starting {args.title!r}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(vl_convert.vegalite_to_png(specs[0], scale=args.scale))
    print(f"{args.out}: {specs[0]['title']}")


if __name__ == "__main__":
    main()
