"""The built wheel works on its own: installed into a fresh venv outside the repository (dependencies from the
development environment, but never its editable install), the CLI runs and finds its built-in prompts, templates
and prices, which ship as package data under notebooklm_clone/resources/."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "notebooklm_clone"
SAMPLE = ROOT / "samples" / "tardigrades.pdf"


def run(args: list, cwd: Path, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    done = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{args[:3]} exited {done.returncode}:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}"
    return done


def backend_installed() -> bool:
    """True when this environment holds every build requirement of pyproject.toml at a version it allows."""
    from importlib.metadata import PackageNotFoundError, version

    from packaging.requirements import Requirement

    with open(ROOT / "pyproject.toml", "rb") as handle:
        requires = tomllib.load(handle)["build-system"]["requires"]
    for spec in map(Requirement, requires):
        try:
            if not spec.specifier.contains(version(spec.name), prereleases=True):
                return False
        except PackageNotFoundError:
            return False
    return True


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """A wheel built from a copy of the project (so building leaves no build/ or egg-info in the repository)."""
    work = tmp_path_factory.mktemp("build")
    source = work / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        if (ROOT / name).exists():
            shutil.copy2(ROOT / name, source / name)
    if (ROOT / "LICENSES").is_dir():
        shutil.copytree(ROOT / "LICENSES", source / "LICENSES")
    shutil.copytree(PACKAGE, source / "notebooklm_clone", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    # Offline with the development environment's build backend when it is new enough (pyproject.toml's
    # build-system); otherwise pip sets up the backend in an isolated environment from its cache or index.
    offline = ["--no-build-isolation", "--no-index"] if backend_installed() else []
    run([sys.executable, "-m", "pip", "wheel", source, "--no-deps", *offline, "-w", work / "dist"], cwd=work)
    (built,) = (work / "dist").glob("notebooklm_clone-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> tuple[Path, dict]:
    """(the fresh venv, the environment to run it in): the wheel alone in the venv; its dependencies reach it through
    PYTHONPATH, which Python does not scan for .pth files, so the development install of the package stays out."""
    home = tmp_path_factory.mktemp("fresh")
    env_dir = home / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    run([sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index", wheel], cwd=home)
    paths = sysconfig.get_paths()
    dependencies = dict.fromkeys([paths["purelib"], paths["platlib"]])
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "NOTEBOOKLM_CLONE", "OPENAI_"))}
    env.update(PYTHONPATH=os.pathsep.join(dependencies), NOTEBOOKLM_CLONE_CACHE=str(home / "cache"),
               PYTHONNOUSERSITE="1")
    return env_dir, env


def test_the_wheel_holds_every_resource_file(wheel):
    shipped = {name for name in zipfile.ZipFile(wheel).namelist() if name.startswith("notebooklm_clone/resources/")}
    expected = {p.relative_to(ROOT).as_posix() for p in (PACKAGE / "resources").rglob("*")
                if p.is_file() and "__pycache__" not in p.parts}
    assert expected and expected <= shipped, sorted(expected - shipped)


def test_the_installed_package_is_the_wheel_not_the_repository(installed, tmp_path):
    env_dir, env = installed
    probe = "import json, notebooklm_clone; print(json.dumps(notebooklm_clone.__file__))"
    location = Path(json.loads(run([env_dir / "bin" / "python", "-c", probe], cwd=tmp_path, env=env).stdout))
    assert location.is_relative_to(env_dir), location
    assert not location.is_relative_to(ROOT)


def test_the_installed_cli_extracts_a_pdf_and_shows_help(installed, tmp_path):
    env_dir, env = installed
    cli = env_dir / "bin" / "notebooklm-clone"
    shutil.copy2(SAMPLE, tmp_path / SAMPLE.name)
    run([cli, "extract", SAMPLE.name, "-o", "tardigrades.md"], cwd=tmp_path, env=env)
    text = (tmp_path / "tardigrades.md").read_text(encoding="utf-8")
    assert "ardigrade" in text
    help_text = run([cli, "notes", "--help"], cwd=tmp_path, env=env).stdout
    assert "Usage:" in help_text and "notes" in help_text


RENDER_FROM_THE_WHEEL = """
import json
from pathlib import Path
from notebooklm_clone.batch import Manifest, render_index
from notebooklm_clone.llm.prompts import BUILT_IN_PROMPTS, render_messages, template_fingerprint

names = sorted(p.stem for p in BUILT_IN_PROMPTS.glob("*.j2") if not p.stem.startswith("_"))
messages = render_messages("qa", None, items=["- a (p. 1)"], limit=2, title="T", language="English",
                           level="intro", instructions="")
page = render_index(Manifest(input_dir="/in", products=["notes"], settings_hash="0"), Path("."))
print(json.dumps({"prompts": str(BUILT_IN_PROMPTS), "names": names, "fingerprint": template_fingerprint(names),
                  "qa": messages[-1]["content"], "index": page}))
"""


def test_the_installed_package_finds_its_prompts_and_templates(installed, tmp_path):
    env_dir, env = installed
    found = json.loads(run([env_dir / "bin" / "python", "-c", RENDER_FROM_THE_WHEEL], cwd=tmp_path, env=env).stdout)
    assert Path(found["prompts"]).is_relative_to(env_dir)
    assert found["names"] == sorted(p.stem for p in (PACKAGE / "resources" / "prompts").glob("*.j2")
                                    if not p.stem.startswith("_"))
    assert "review questions" in found["qa"]
    assert "<html" in found["index"].lower()
