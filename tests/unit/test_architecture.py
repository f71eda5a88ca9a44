"""The package's shape, read from its source: imports (function-level ones included) form no loop, data flows one
way (a stage never imports the layers that run it), and no module grows past what one reader can hold."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "notebooklm_clone"
MAX_LINES = 450  # about 400, with room for a docstring or two
# Layers from the bottom up: a module may import its own layer and the ones below, never one above.
# tts.registry (engine names -> where they live) imports nothing of the package, so config can validate names with it.
LAYERS = [
    {"errors", "procs", "progress", "store", "text", "tts.registry"},
    {"config", "models"},
    {"sources", "llm", "tts"},
    {"stages"},
    {"outputs"},
    {"pipeline"},
    {"batch"},
    {"notebook"},
    {"cli", "__main__"},
]


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """Every package module `name` imports, anywhere in the file (TYPE_CHECKING blocks aside)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    type_only = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
                 for n in ast.walk(node)}
    found = set()
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                found.add(candidate if candidate in known else base)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {m for m in found if m in known and m != name}


def graph() -> dict[str, set[str]]:
    mods = modules()
    return {name: imports_of(name, path, set(mods)) for name, path in mods.items()}


def layer_of(module: str) -> int:
    parts = module.split(".")[1:]
    for depth in range(len(parts), 0, -1):  # the most specific entry wins: "tts.registry" before "tts"
        for index, layer in enumerate(LAYERS):
            if ".".join(parts[:depth]) in layer:
                return index
    raise AssertionError(f"{module} belongs to no layer: add its folder to LAYERS")


def test_no_import_loop_anywhere_in_the_package():
    edges, loops = graph(), []
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for target in sorted(edges[node]):
            if state.get(target) == 1:
                loops.append(" -> ".join(trail[trail.index(target):] + [target]) if target in trail else target)
            elif not state.get(target):
                visit(target, trail + [target])
        state[node] = 2

    for start in sorted(edges):
        if not state.get(start):
            visit(start, [start])
    assert loops == []


def test_imports_point_down_the_layers():
    upward = [f"{a} -> {b}" for a, targets in graph().items() if a != "notebooklm_clone"
              for b in targets if b != "notebooklm_clone" and layer_of(b) > layer_of(a)]
    assert upward == []


def test_no_module_is_too_long_to_read():
    long = {name: n for name, path in modules().items() if (n := len(path.read_text().splitlines())) > MAX_LINES}
    assert long == {}


def test_the_check_sees_a_loop_and_an_upward_import(tmp_path, monkeypatch):
    """The two checks above must be able to fail: a stage that imports the pipeline is both."""
    package = tmp_path / "notebooklm_clone"
    (package / "stages").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "stages" / "__init__.py").write_text("")
    (package / "stages" / "notes.py").write_text("def f():\n    from ..pipeline import run\n")
    (package / "pipeline.py").write_text("from .stages.notes import f\n")
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", package)
    with pytest.raises(AssertionError):
        test_no_import_loop_anywhere_in_the_package()
    with pytest.raises(AssertionError):
        test_imports_point_down_the_layers()


@pytest.mark.parametrize("module", ["notebooklm_clone.sources", "notebooklm_clone.batch.runner",
                                    "notebooklm_clone.batch.executors", "notebooklm_clone.stages.script",
                                    "notebooklm_clone.llm.endpoints", "notebooklm_clone.cli"])
def test_each_module_imports_on_its_own(module):
    done = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
