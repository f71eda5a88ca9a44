"""The unit of work a batch ships to a worker process or a Ray node: one document, plain data in, plain data out."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from ..config import Settings
from ..errors import UsageError, one_line_error
from ..pipeline import process_document
from ..progress import Progress
from ..store import read_json


def document_title(out_dir: Path, fallback: str) -> str:
    """The document's title as the outputs tell it: document.json, else the first Markdown heading, else the name."""
    document = read_json(out_dir / "document.json")
    if isinstance(document, dict) and str(document.get("title") or "").strip():
        return str(document["title"]).strip()
    for name in ("summary.md", "notes.md", "script.md"):
        try:
            with open(out_dir / name, encoding="utf-8", errors="replace") as handle:
                for line in handle:
                    if line.startswith("# "):
                        return line[2:].strip()
        except OSError:
            continue
    return fallback


def run_document_task(task: dict[str, Any], progress: Progress | None = None) -> dict[str, Any]:
    """`pipeline.process_document` for one task of `Batch.task_for`.

    Never raises for a bad document: the outcome carries a one-line error instead, so one document never stops the
    batch and nothing un-picklable crosses a process boundary.
    """
    start = time.perf_counter()
    source = Path(task["source"])
    try:
        if not source.is_file():
            raise UsageError(f"{source} is not visible on host {os.uname().nodename} "
                             "(the input and output folders must be mounted at the same path on every node)")
        settings = Settings.model_validate(task["settings"])
        result = process_document(source, task["out_dir"], settings, task["products"], password=task.get("password"),
                                   progress=progress)
        outcome = {"result": result.model_dump(mode="json"),
                   "title": document_title(Path(task["out_dir"]), source.stem)}
    except Exception as exc:  # noqa: BLE001 - recorded per document; the batch goes on
        outcome = {"error": one_line_error(exc)}
    outcome["seconds"] = round(time.perf_counter() - start, 3)
    outcome["host"] = os.uname().nodename
    return outcome
