"""`notebooklm-clone doctor`: what this machine will use and whether it works, before a long run finds out.

Checks the LLM endpoint for real (the embedded server is started briefly and asked for one token; a remote endpoint
gets a 1-token completion), the embedded model files, the TTS engines, the apt tools and the optional Python
packages. Exit 0 when the configured defaults can run, 4 when the LLM or the configured TTS engine cannot.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import shutil
import subprocess
import time

import click

from ..config import Settings
from ..errors import BackendUnavailable, NotebookError
from ..tts.engine import engine_status

APT_TOOLS = {  # tool -> what it is for
    "ffmpeg": "audio decoding/encoding (ffmpeg, through pydub for music)",
    "tesseract": "OCR of scanned pages",
    "espeak-ng": "espeak TTS engine and phonemes",
}
PYTHON_PACKAGES = {  # import name -> (distribution, what it is for)
    "llama_cpp": ("llama-cpp-python", "embedded LLM server"),
    "piper": ("piper-tts", "embedded TTS host A"),
    "kokoro_onnx": ("kokoro-onnx", "embedded TTS host B"),
    "TTS": ("coqui-tts", "coqui TTS engine (optional)"),
}


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return ""


def check_llm(settings: Settings) -> dict:
    """Start/reach the configured LLM and ask it for one token."""
    from ..llm.endpoints import endpoint_of, open_llm

    kind, base_url, _ = endpoint_of(settings)
    row = {"name": "llm", "kind": kind, "endpoint": base_url or ("api.openai.com" if kind == "openai" else "embedded"),
           "model": settings.llm.model, "ok": False, "detail": ""}
    if kind == "embedded":
        row["model"] = f"{settings.llm.tier} tier"
    start = time.perf_counter()
    settings = settings.with_overrides(**{"llm.max_retries": 0})  # a health check: one try, no backoff
    try:
        with open_llm(settings) as llm:
            row["model"] = llm.model
            llm.ping()
            row["capabilities"] = llm.capabilities.model_dump()
        row["ok"] = True
        row["detail"] = f"answered in {time.perf_counter() - start:.1f}s" + (" (server start included)"
                                                                              if kind == "embedded" else "")
    except NotebookError as exc:
        row["detail"] = str(exc)
    return row


def check_models(settings: Settings) -> list[dict]:
    from ..llm.model_files import MODELS, model_status

    rows = []
    for tier in MODELS:
        status = model_status(tier, settings.cache_dir)
        status["name"] = f"model {tier}"
        status["required"] = tier == settings.llm.tier
        rows.append(status)
    return rows


def check_tts(settings: Settings) -> list[dict]:
    rows = []
    for entry in engine_status(settings.tts):
        rows.append({"name": f"tts {entry['name']}", "ok": bool(entry.get("ok")), "detail": entry.get("detail", ""),
                     "configured": entry["name"] == settings.tts.engine, "voices": entry.get("voices", [])})
    return rows


def check_tools() -> list[dict]:
    rows = []
    for tool, purpose in APT_TOOLS.items():
        path = shutil.which(tool)
        detail = purpose
        if path:
            try:
                flag = "-version" if tool == "ffmpeg" else "--version"
                out = subprocess.run([path, flag], capture_output=True, text=True, timeout=10)
                first = (out.stdout or out.stderr).strip().splitlines()
                detail = f"{first[0][:80] if first else path} - {purpose}"
            except (OSError, subprocess.SubprocessError):
                detail = f"{path} - {purpose}"
        else:
            detail = f"not installed (apt-get install {'tesseract-ocr' if tool == 'tesseract' else tool}) - {purpose}"
        rows.append({"name": tool, "ok": bool(path), "detail": detail})
    return rows


def check_packages() -> list[dict]:
    rows = []
    for module, (dist, purpose) in PYTHON_PACKAGES.items():
        found = importlib.util.find_spec(module) is not None
        version = _version(dist)
        detail = f"{dist} {version} - {purpose}" if found else f"not installed (pip install {dist}) - {purpose}"
        rows.append({"name": module, "ok": found, "detail": detail})
    return rows


def diagnose(settings: Settings) -> dict:
    """Every check as data; `ok` is False when the configured LLM or the configured TTS engine cannot run."""
    report = {
        "llm": check_llm(settings),
        "models": check_models(settings),
        "tts": check_tts(settings),
        "tools": check_tools(),
        "packages": check_packages(),
    }
    problems = []
    if not report["llm"]["ok"]:
        problems.append(f"LLM: {report['llm']['detail']}")
    problems += [f"{row['name']}: {row['detail']}" for row in report["tts"] if row.get("configured") and not row["ok"]]
    report["ok"] = not problems
    report["problems"] = problems
    return report


def _line(ok: bool | None, name: str, detail: str) -> str:
    mark = {True: "ok  ", False: "FAIL", None: "warn"}[ok]
    return f"  [{mark}] {name:<14} {detail}"


def render(report: dict) -> str:
    llm = report["llm"]
    lines = ["LLM", _line(llm["ok"], llm["kind"], f"{llm['endpoint']} / {llm['model']}: {llm['detail']}"), "Models"]
    for row in report["models"]:
        state = {"verified": "present, size and sha256 verified", "missing": "not assembled",
                 "bad": "BAD FILE"}[row["file"]]
        detail = f"{row['alias']} ({row['size']:,} bytes): {state}; parts {row['parts']}"
        if row["detail"]:
            detail += f" - {row['detail']}"
        lines.append(_line(row["ok"] if row["required"] else (row["ok"] or None), row["name"], detail))
    lines.append("TTS")
    for row in report["tts"]:
        tag = " (configured)" if row.get("configured") else ""
        lines.append(_line(row["ok"] if row.get("configured") else (row["ok"] or None), row["name"],
                           f"{row['detail']}{tag}"))
    lines.append("Tools")
    lines += [_line(row["ok"] or None, row["name"], row["detail"]) for row in report["tools"]]
    lines.append("Python packages")
    lines += [_line(row["ok"] or None, row["name"], row["detail"]) for row in report["packages"]]
    lines.append("ready" if report["ok"] else "NOT READY: " + "; ".join(report["problems"]))
    return "\n".join(lines)


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable report on stdout.")
@click.pass_context
def doctor(ctx: click.Context, as_json: bool) -> None:
    """Check the LLM endpoint, model files, TTS engines and tools; exit 4 if the defaults cannot run."""
    settings: Settings = ctx.obj["settings"]
    report = diagnose(settings)
    if as_json or ctx.obj.get("json"):
        click.echo(json.dumps(report, indent=2, default=str))
    elif not ctx.obj.get("quiet"):
        click.echo(render(report))
    if not report["ok"]:
        ctx.exit(BackendUnavailable.exit_code)


commands = [doctor]
