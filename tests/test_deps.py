"""`dvc status` never hides a stale result: each stage's deps list every module its code imports;
no stage module imports another stage module, the library never imports a stage, and neither
imports the search tool."""

from __future__ import annotations

import ast
import re
import sys

import pytest
import yaml

from tests.tiny_project import DVC, PROJECT, run, stale

PACKAGES = ("stages.", "reuters_rnn.", "model_search.")
STAGES = yaml.safe_load((PROJECT / "dvc.yaml").read_text())["stages"]


def project_imports(module: str, seen: set[str] | None = None) -> set[str]:
    """Every project module (stages, reuters_rnn, model_search) `module` imports, transitively (top
    level and inside functions)."""
    seen = set() if seen is None else seen
    tree = ast.parse((PROJECT / f"{module.replace('.', '/')}.py").read_text())
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        for name in names:
            if name.startswith(PACKAGES) and name not in seen:
                seen.add(name)
                project_imports(name, seen)
    return seen


def stage_definition(stage: dict) -> dict:
    return stage.get("do", stage)


@pytest.mark.parametrize("name", list(STAGES))
def test_every_imported_module_is_a_dep(name):
    stage = stage_definition(STAGES[name])
    module = stage["cmd"].split("python -m ")[1].split()[0]
    needed = {f"{m.replace('.', '/')}.py" for m in project_imports(module) | {module}}
    declared = {dep for dep in stage["deps"] if dep.startswith(("stages/", "reuters_rnn/"))}
    assert needed == declared, (
        f"{name}: missing {needed - declared}, extra {declared - needed}: "
        "`python -m tools.stage_deps` writes them"
    )


def test_the_deps_tool_writes_what_the_stages_import_and_nothing_else():
    from tools.stage_deps import PIPELINE, rewritten

    committed = PIPELINE.read_text()
    assert rewritten(committed) == (committed, [])  # the committed file is as the tool writes it
    # A dep dropped by hand (evaluate's scoring) and one that no stage imports (in report's):
    # both put right, the rest untouched.
    lines = committed.split("\n")
    lines.remove("        - reuters_rnn/evaluation/scoring.py")  # the first: evaluate's
    lines.insert(lines.index("      - stages/report.py") + 1, "      - reuters_rnn/fit/live.py")
    damaged = "\n".join(lines)
    fixed, changed = rewritten(damaged)
    assert fixed == committed and changed == ["evaluate", "report"], changed


def test_the_deps_tools_check_names_the_stale_stages_and_changes_nothing(
    tmp_path, monkeypatch, capsys
):
    """`python -m tools.stage_deps --check` (CI's question) exits 1 naming the stages and the
    fix, and leaves the file; without --check the tool writes the fix."""
    import tools.stage_deps as stage_deps

    committed = stage_deps.PIPELINE.read_text()
    pipeline = tmp_path / "dvc.yaml"
    damaged = committed.replace("        - reuters_rnn/evaluation/scoring.py\n", "", 1)
    pipeline.write_text(damaged)
    monkeypatch.setattr(stage_deps, "PIPELINE", pipeline)
    monkeypatch.setattr(sys, "argv", ["stage_deps", "--check"])
    with pytest.raises(SystemExit) as stale:
        stage_deps.main()
    assert str(stale.value) == (
        "dvc.yaml: the code deps of evaluate differ from what their commands import: run "
        "`python -m tools.stage_deps`, then `python -m tools.whole_set_pipeline`"
    )
    assert pipeline.read_text() == damaged
    monkeypatch.setattr(sys, "argv", ["stage_deps"])
    stage_deps.main()
    assert pipeline.read_text() == committed
    assert capsys.readouterr().out == "dvc.yaml: code deps rewritten for evaluate\n"
    monkeypatch.setattr(sys, "argv", ["stage_deps", "--check"])
    stage_deps.main()  # up to date: no exit


def test_stage_modules_do_not_import_each_other():
    stage_modules = {
        stage_definition(s)["cmd"].split("python -m ")[1].split()[0] for s in STAGES.values()
    }
    for module in stage_modules:
        assert not (project_imports(module) & stage_modules), module


def test_the_pipeline_and_its_library_never_import_the_search_tool():
    pipeline = [f"stages.{p.stem}" for p in (PROJECT / "stages").glob("*.py")]
    library = [
        ".".join(p.relative_to(PROJECT).with_suffix("").parts)
        for p in (PROJECT / "reuters_rnn").rglob("*.py")
        if p.name != "__init__.py"
    ]
    for module in pipeline + library:
        imported = project_imports(module)
        assert not any(name.startswith("model_search") for name in imported), module
        if module in library:
            assert not any(name.startswith("stages") for name in imported), module


@pytest.mark.pipeline
def test_changing_the_scoring_code_makes_every_evaluate_and_baseline_stale(reproduced_project):
    scoring = reproduced_project / "reuters_rnn" / "evaluation" / "scoring.py"
    scoring.write_text(
        scoring.read_text().replace("round(float(metric", "round(1.0 * float(metric")
    )
    assert stale(reproduced_project) == {
        "evaluate@vanilla_rnn",
        "evaluate@lstm",
        "baseline@majority",
        "report",
    }
    run([*DVC, "status"], reproduced_project)


def test_the_whole_set_pipeline_is_the_root_pipeline_one_folder_down():
    from tools.whole_set_pipeline import TARGET, render

    assert TARGET.read_text() == render(), "run `python -m tools.whole_set_pipeline`"
    for template in sorted((PROJECT / ".dvc/plots").glob("*.json")):  # the same plots there
        assert (
            PROJECT / "whole_set/.dvc/plots" / template.name
        ).read_text() == template.read_text()


def test_the_whole_sets_params_are_the_roots_with_its_differences_only():
    """whole_set/params.yaml differs from params.yaml exactly where differences.yaml says (a
    hand edit, or a difference written there that changes nothing, fails here)."""
    from tools.whole_set_pipeline import DIFFERENCES, LEVELS, PARAMS, render_params

    assert PARAMS.read_text() == render_params(), "run `python -m tools.whole_set_pipeline`"
    root = yaml.safe_load((PROJECT / "params.yaml").read_text())
    for section, changes in yaml.safe_load(DIFFERENCES.read_text()).items():
        for key, value in changes.items():
            if LEVELS.get(section, 1) > 1:
                for inner, setting in value.items():
                    assert root[section][key].get(inner) != setting, f"{section}.{key}.{inner}"
            else:
                assert root[section].get(key) != value, f"{section}.{key} is the root's already"


def test_every_train_key_that_changes_a_result_is_a_param_of_the_train_stage():
    from reuters_rnn.schema.sections import TrainParams

    declared = set(stage_definition(STAGES["train"])["params"])
    how_not_what = {"resume", "checkpoint_every"}  # how a training runs, not what it makes
    needed = {f"train.{key}" for key in set(TrainParams.model_fields) - how_not_what}
    assert needed <= declared, f"add to train's params in dvc.yaml: {needed - declared}"


def test_test_modules_share_helpers_through_one_module_only():
    """A test module imports its shared helpers from the helper modules (tests/tiny_project.py,
    and the runner and servers beside it: dvc_runner.py, s3_store.py, pg_server.py) or conftest's
    fixtures, never from another test module: running one test file never runs another's."""
    crossing = [
        f"{path.name}: {line.strip()}"
        for path in sorted((PROJECT / "tests").glob("test_*.py"))
        for line in path.read_text().splitlines()
        if re.match(r"\s*(from tests\.test_\w+ import|import tests\.test_)", line)
    ]
    assert not crossing, crossing


def test_the_library_packages_hold_no_code_of_their_own():
    """A stage's deps list the modules it imports; the packages' `__init__.py` files are not
    among them, so they stay a docstring alone (code there would run unhashed)."""
    for init in (PROJECT / "reuters_rnn").rglob("__init__.py"):
        body = ast.parse(init.read_text()).body
        assert len(body) == 1 and isinstance(body[0], ast.Expr), init


def test_no_module_outgrows_one_concept():
    """The house rule: one concept per module, whatever its length, and none past about 300 lines
    (docs/pipeline.md: The code); a module that passes it holds two concepts, to be parted by
    meaning, not by a line count."""
    code = [*PROJECT.glob("stages/*.py"), *PROJECT.glob("model_search/*.py")]
    code += [*PROJECT.glob("reuters_rnn/**/*.py"), *PROJECT.glob("tools/*.py")]
    long = {
        str(p.relative_to(PROJECT)): n for p in code if (n := len(p.read_text().splitlines())) > 300
    }
    assert not long, long
