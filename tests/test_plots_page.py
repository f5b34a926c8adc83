"""The plot pages render with no network: `dvc plots show` fills .dvc/plots/page.html, which
carries Vega, Vega-Lite and Vega-Embed itself (tools/plots_page.py), and headless Chromium draws
every plot of the committed results with every outside address refused."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from tests.tiny_project import DVC, PROJECT, run
from tools.project_copy import copy_project

CHROMIUM = shutil.which("chromium")


def test_the_committed_page_is_the_bundle_it_is_written_from():
    from tools.plots_page import PAGE, render

    assert PAGE.read_text() == render(), "run `python -m tools.plots_page`"
    assert "{plot_divs}" in PAGE.read_text() and "<script src=" not in PAGE.read_text()


@pytest.mark.pipeline
@pytest.mark.skipif(CHROMIUM is None, reason="needs a headless browser: apt install chromium")
@pytest.mark.parametrize("project", ["root", "whole_set"])
def test_dvc_plots_show_renders_every_plot_offline(tmp_path, project):
    repo = copy_project(tmp_path / "project")
    source = PROJECT if project == "root" else PROJECT / "whole_set"
    for name in ("dvc.yaml", "params.yaml", "metrics"):
        target = repo / name
        if target.is_dir():
            shutil.rmtree(target)
        if (source / name).is_dir():
            shutil.copytree(source / name, target)
        else:
            shutil.copy(source / name, target)
    page = tmp_path / "plots"
    run([*DVC, "plots", "show", "-o", str(page)], repo)
    html = (page / "index.html").read_text()
    assert not re.search(r"<script[^>]+src=", html)  # nothing fetched
    plots = len(re.findall(r"vegaEmbed\('#", html))
    assert plots >= 8  # summary, confusion, one learning curve per model, ...
    dom = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--host-resolver-rules=MAP * ~NOTFOUND",  # no network: every name fails
            "--virtual-time-budget=20000",
            "--dump-dom",
            (page / "index.html").as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    drawn = len(re.findall(r"<canvas|<svg[^>]*class=\"marks\"", dom))
    assert drawn >= plots, f"{drawn} of {plots} plots drawn"
