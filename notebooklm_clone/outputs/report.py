"""The per-document JSON files: document.json (the extracted document, the `extract` product) and report.json (what
a run did: options, timings, usage, citations, script figures, warnings), both written atomically."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from ..models import Document
from ..store import atomic_write_json


def write_document(document: Document, out_dir: str | Path) -> Path:
    return atomic_write_json(Path(out_dir) / "document.json", document)


def write_report(result: BaseModel, out_dir: str | Path) -> Path:
    return atomic_write_json(Path(out_dir) / "report.json", result)
