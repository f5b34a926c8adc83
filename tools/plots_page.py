"""Write .dvc/plots/page.html: the page `dvc plots show` and `dvc plots diff` fill (DVC's
`plots.html_template`), with Vega, Vega-Lite and Vega-Embed inside it instead of loaded from a
CDN, so the plots render with no network (behind a firewall, on a plane). The scripts are
vl-convert-python's bundle (a dev dependency, pinned in pyproject.toml); run this after changing
its version:

    python -m tools.plots_page

tests/test_plots_page.py fails while the page and the bundle disagree.
"""

from __future__ import annotations

from pathlib import Path

PAGE = Path(__file__).resolve().parents[1] / ".dvc" / "plots" / "page.html"
HEAD = """<!DOCTYPE html>
<html>
<head>
    {refresh_tag}
    <meta charset="utf-8">
    <title>DVC Plot</title>
    <style>
        table {{
            border-spacing: 15px;
        }}
    </style>
    <!-- Vega, Vega-Lite and Vega-Embed, from vl-convert-python {version}: no network needed -->
    <script>
"""
TAIL = """
    </script>
</head>
<body>
    {plot_divs}
</body>
</html>
"""


def render() -> str:
    from importlib.metadata import version

    import vl_convert

    bundle = vl_convert.javascript_bundle().replace("</script", "<\\/script")
    head = (
        HEAD.replace("{{", "{")
        .replace("}}", "}")
        .replace("{version}", version("vl-convert-python"))
    )
    return head + bundle + TAIL


if __name__ == "__main__":
    PAGE.write_text(render())
    print(f"wrote {PAGE} ({PAGE.stat().st_size / 1e6:.1f} MB)")
