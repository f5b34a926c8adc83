"""Write each stage's code deps in dvc.yaml from what its command imports: the stage module and
every project module it imports, transitively (reuters_rnn.plumbing.guard.imported_code, the
list the stage's own inputs guard hashes). Run it after adding or removing an import in the
pipeline's code, then `python -m tools.whole_set_pipeline` for whole_set/dvc.yaml:

    python -m tools.stage_deps           # rewrites dvc.yaml's code deps, names the stages changed
    python -m tools.stage_deps --check   # exits 1 naming the stages whose deps are out of date

Only the code lines of a stage's deps (`- stages/...py`, `- reuters_rnn/...py`) are rewritten,
in place; its data deps, comments and everything else stay as written.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from reuters_rnn.plumbing.guard import imported_code

PROJECT = Path(__file__).resolve().parents[1]
PIPELINE = PROJECT / "dvc.yaml"
CODE_LINE = re.compile(r"^(\s+)- (?:stages|reuters_rnn)/\S+\.py$")
COMMAND = re.compile(r"python -m (stages\.\w+)")
STAGE = re.compile(r"^  (\w+):$")


def code_deps(module: str) -> list[str]:
    """The stage module first, then the library's modules, each group sorted."""
    return sorted(imported_code(module), key=lambda path: (not path.startswith("stages/"), path))


def rewritten(text: str) -> tuple[str, list[str]]:
    """dvc.yaml's text with each stage's code deps as its command imports them, and the names
    of the stages whose deps that changed."""
    lines, out, changed = text.split("\n"), [], []
    stage = module = None
    i = 0
    while i < len(lines):
        line = lines[i]
        if found := STAGE.match(line):
            stage, module = found[1], None
        if found := COMMAND.search(line):
            module = found[1]
        if (code := CODE_LINE.match(line)) and module:
            written = []
            while i < len(lines) and CODE_LINE.match(lines[i]):
                written.append(lines[i])
                i += 1
            wanted = [f"{code[1]}- {path}" for path in code_deps(module)]
            if wanted != written:
                changed.append(stage or module)
            out += wanted
            continue
        out.append(line)
        i += 1
    return "\n".join(out), changed


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if stale")
    args = parser.parse_args()
    text, changed = rewritten(PIPELINE.read_text())
    if args.check:
        if changed:
            sys.exit(
                f"dvc.yaml: the code deps of {', '.join(changed)} differ from what their commands "
                "import: run `python -m tools.stage_deps`, then `python -m tools.whole_set_pipeline`"
            )
        return
    if changed:
        PIPELINE.write_text(text)
        print(f"dvc.yaml: code deps rewritten for {', '.join(changed)}")
    else:
        print("dvc.yaml: every stage's code deps are what its command imports")


if __name__ == "__main__":
    main()
