"""The package's shape: the paper in one short file, an engine path with no classroom helpers, no import cycles, a
command line that starts without the classroom."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
from layout import MODULES, PACKAGE, closure, imported_by, imports, lines, source  # noqa: E402

CLASSROOM = {m for m in MODULES if m.startswith("classroom.")}
#: Helpers for the command line and the benchmark, and the classroom: the engine path must not need them.
HELPERS = {"bench", "bench_worker", "cli", "data"} | CLASSROOM


def test_the_paper_reads_in_one_sitting():
    """nst_teach/paper.py and everything it imports from the package: at most 600 lines."""
    assert closure("paper") == {"paper", "vgg19", "weights", "errors"}
    assert lines(closure("paper")) <= 600, {m: lines([m]) for m in closure("paper")}


def test_the_engine_path_needs_no_notebook_classroom_or_command_line_helper():
    path = closure("tasks")
    assert not path & HELPERS, path & HELPERS
    assert lines(path) <= 3100, {m: lines([m]) for m in sorted(path)}  # the fast path, all of it (README): a budget


def test_only_the_classroom_and_the_command_line_import_the_classroom_and_the_command_line_only_when_asked():
    """The engine, the paper and the benchmark never import nst_teach.classroom; the CLI imports its animation and its
    course inside the commands that use them (--animate, nst-teach lessons), never at its top."""
    assert {m: sorted(imports(m) & CLASSROOM) for m in MODULES if m not in CLASSROOM and imports(m) & CLASSROOM} == {
        "cli": ["classroom.animation", "classroom.course"]}
    top = ast.parse(source("cli").read_text()).body
    assert not set().union(*(imported_by(node) for node in top)) & CLASSROOM


@pytest.mark.integration
def test_the_command_line_starts_and_runs_without_the_classroom(tmp_path):
    """``import nst_teach`` loads no module of the package; the command line's help and its argparse mistakes load no
    torch (they answer in a tenth of a second, not three); and a transfer from the command line never loads the
    classroom, matplotlib or ipywidgets: they cost start-up time and a CLI user does not need them."""
    from PIL import Image

    for name in ("photo", "painting"):
        Image.new("RGB", (40, 32), (90, 140, 200) if name == "photo" else (200, 120, 40)).save(tmp_path / f"{name}.png")
    script = """
import contextlib, io, sys
import nst_teach as nt
assert [m for m in sys.modules if m.startswith("nst_teach.")] == [], sorted(sys.modules)
from nst_teach.cli import main
with contextlib.redirect_stdout(io.StringIO()) as shown, contextlib.redirect_stderr(io.StringIO()):
    assert [main([*args, "--help"]) for args in ([], ["transfer"], ["bench"])] + [main(["transfr"])] == [0, 0, 0, 2]
assert "--preserve-colors" in shown.getvalue() and "torch" not in sys.modules, sorted(sys.modules)
assert callable(nt.style_transfer) and "torch" in sys.modules  # a name is there when used
assert main(["transfer", "photo.png", "painting.png", "--weights", "random", "--steps", "2", "--size", "32"]) == 0
print(sorted(m for m in sys.modules if m.startswith(("nst_teach.classroom", "matplotlib", "ipywidgets"))))
"""
    out = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[]", out.stdout
    assert (tmp_path / "out.png").is_file()


def test_no_import_cycle():
    for module in MODULES:
        for other in imports(module):
            assert module not in closure(other), f"{module} -> {other} -> ... -> {module}"


def test_no_module_over_450_lines():
    assert {m: lines([m]) for m in MODULES if lines([m]) > 450} == {}


def test_no_module_reaches_for_another_modules_private_names():
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("nst_teach"):
                assert not [a.name for a in node.names if a.name.startswith("_")], path.name
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.attr.startswith("_"):
                ours = node.value.id not in ("self", "cls", "ctx", "torch", "os", "sys", "np") and node.value.id in {
                    m.split(".")[-1] for m in MODULES}
                assert not ours, f"{path.name}: {node.value.id}.{node.attr}"


def _definitions() -> dict[str, list[str]]:
    """Public name -> the modules that define it at their top level (def, class or assignment)."""
    found: dict[str, list[str]] = {}
    for module in MODULES:
        for node in ast.parse(source(module).read_text()).body:
            targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", node)]
            names = [node.name] if isinstance(node, (ast.FunctionDef, ast.ClassDef)) else [
                t.id for t in targets if isinstance(t, ast.Name)]
            for name in names:
                if not name.startswith("_"):
                    found.setdefault(name, []).append(module)
    return found


def test_a_name_is_defined_in_one_module_unless_paper_py_writes_the_same_equation():
    """paper.py writes the equations plainly beside the engine's (tests/test_paper.py: the same values); bench and cli
    each have their command's check and main. Any other name defined twice (a second STYLE_LAYERS, a second mask_at
    with another signature) is two meanings for one name."""
    twice = {name: modules for name, modules in _definitions().items() if len(modules) > 1}
    assert twice == {"check": ["bench", "cli"], "main": ["bench", "cli"], "content_loss": ["losses", "paper"],
                     "gram_matrix": ["losses", "paper"], "style_layer_loss": ["losses", "paper"],
                     "total_loss": ["losses", "paper"]}


def test_the_readme_names_the_command_that_counts_the_lines_and_types_no_count(capsys):
    """Counts that drift with every edit (paper.py's lines, the engine path's modules and lines) are printed by
    ``python tools/layout.py``, which the README names; the README types only the limits this file holds them to."""
    import re

    import layout

    layout.main()
    printed = capsys.readouterr().out
    assert f"paper.py: {lines(['paper'])} lines" in printed and f"): {lines(closure('paper'))} lines" in printed
    assert f"reads {len(closure('tasks'))} modules, {lines(closure('tasks')):,} lines" in printed
    readme = " ".join((PACKAGE.parent / "README.md").read_text().split())
    assert readme.count("python tools/layout.py") >= 2
    typed = re.findall(r"(\d[\d,]*) (?:lines|modules)", readme)  # any count of lines or modules, however worded
    assert sorted(typed) == ["3,100", "600"], typed  # only the two limits this file holds the code to
    assert "at most 600 lines" in readme and "at most 3,100 lines" in readme


def test_the_readme_draws_the_layout_this_test_finds():
    """The README's picture of the package: the engine's line names what a style_transfer call reads, every other
    top-level module is named, and the classroom's modules live under classroom/ and nowhere else."""
    import re

    tree = (PACKAGE.parent / "README.md").read_text().split("```text\nnst_teach/\n", 1)[1].split("```", 1)[0]
    engine = tree.split("paper.py", 1)[1].split("the engine:", 1)[0]
    assert set(re.findall(r"(\w+)\.py", engine)) == closure("tasks")
    assert set(re.findall(r"(\w+)\.py", tree.split("classroom/", 1)[0])) == {m for m in MODULES if "." not in m}
    assert "  classroom/" in tree and not (PACKAGE / "assignments.py").exists()


def test_nst_teach_gives_every_name_the_lessons_and_assignments_use():
    """``nt.<name>`` and ``from nst_teach[.module] import <name>`` in every lesson and assignment: each is a name there
    (for nt, one in __all__, imported when used) or a module of it."""
    import importlib
    import re

    import nst_teach as nt

    texts = [p.read_text() for p in sorted((PACKAGE.parent / "lessons").glob("*.md"))]
    texts += [p.read_text() for p in sorted((PACKAGE.parent / "assignments").glob("*.md"))]
    used = {("nst_teach", name) for text in texts for name in re.findall(r"\bnt\.([A-Za-z_]\w*)", text)}
    used |= {(module, name.split(" as ")[0].strip()) for text in texts
             for module, names in re.findall(r"^\s*from (nst_teach[\w.]*) import ([^\n(]+)$", text, re.M)
             for name in names.split(",")}
    assert len({name for module, name in used if module == "nst_teach"}) > 30  # the lessons use the package through nt
    assert {module for module, _ in used} >= {"nst_teach", "nst_teach.classroom", "nst_teach.classroom.lesson"}
    missing = {(module, name) for module, name in used if not hasattr(importlib.import_module(module), name)
               and importlib.util.find_spec(f"{module}.{name}") is None}
    assert missing == set()
    assert set(nt._origins()) == set(nt.__all__) and not hasattr(nt, "style_tranfser")  # the list is the one imported
    assert dir(nt) == sorted([*nt.__all__, "__version__"])  # a student's nt.<Tab>: no ast, importlib or Path
    not_listed = {name for module, name in used if module == "nst_teach" and name not in nt.__all__}
    assert all(importlib.util.find_spec(f"nst_teach.{name}") for name in not_listed), not_listed  # modules only
