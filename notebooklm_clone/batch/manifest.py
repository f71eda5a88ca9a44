"""The batch manifest (`OUT/batch.json`): what was asked (products, settings fingerprint) and the state of every
document, which is what makes a batch resumable.

A run writes batch.json whole when it starts (the plan) and when it ends (the readable summary); in between, every
state change is one line appended to `OUT/.batch.journal` (`Journal`), so saving costs the same with ten documents or
ten thousand, and a run killed at any moment (even kill -9) is picked up by `load_manifest` (batch.json plus the
journal of the run it belongs to).
"""

from __future__ import annotations

import json
import os
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any, Literal

from pydantic import BaseModel, Field

from ..config import ExtractSettings, Settings
from ..errors import UsageError
from ..pipeline import PRODUCTS
from ..store import atomic_write_json, atomic_write_text, hash_obj, json_text, read_json

MANIFEST_NAME = "batch.json"
INDEX_NAME = "index.html"
JOURNAL_NAME = ".batch.journal"
LOCK_NAME = ".batch.lock"
MANIFEST_VERSION = 1

State = Literal["pending", "running", "done", "failed", "skipped"]

# Which settings sections shape which product; a change elsewhere does not redo a finished document.
_SECTIONS_FOR = {
    "extract": (),
    "notes": ("llm", "chunk", "notes"),
    "script": ("llm", "chunk", "notes", "script"),
    "podcast": ("llm", "chunk", "notes", "script", "tts", "audio"),
}
# The prompt templates (prompts/*.j2, or the user's copies in prompts_dir) each product's outputs come from.
_NOTES_TEMPLATES = ("map", "digest", "abstract", "qa", "quiz", "section")
_TEMPLATES_FOR = {
    "extract": (),
    "notes": _NOTES_TEMPLATES,
    "script": (*_NOTES_TEMPLATES, "segment"),
    "podcast": (*_NOTES_TEMPLATES, "segment"),
}
# Fields that change how a run goes, never what it produces (and secrets, which must not be hashed into files).
_RUNTIME_FIELDS = {
    "llm": ("base_url", "api_key", "concurrency", "timeout", "max_retries", "threads", "use_cache", "prices_file",
            "retry_base_delay", "prompt_cache"),
    "tts": ("workers", "api_key"),
}


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def normalize_products(products: list[str] | tuple[str, ...] | str) -> list[str]:
    """Validated, ordered product names; `podcast` implies `script` (the pipeline does the same)."""
    if isinstance(products, str):
        products = [p.strip() for p in products.split(",") if p.strip()]
    unknown = sorted(set(products) - set(PRODUCTS))
    if unknown or not products:
        raise UsageError(f"unknown product(s) {', '.join(unknown) or '(none)'}; choose from {', '.join(PRODUCTS)}")
    if "podcast" in products:
        products = [*products, "script"]
    return [p for p in PRODUCTS if p in products]


def settings_fingerprint(settings: Settings, products: list[str]) -> str:
    """Hash of exactly what shapes these products' outputs: the relevant settings (not ports, keys, concurrency or
    paths) and the text of the prompt templates they use, so an edited prompt redoes what it shaped."""
    import jinja2  # loaded only when a batch runs, not on every CLI start

    from ..llm.prompts import template_fingerprint

    data = settings.model_dump(mode="json")
    sections = sorted({s for p in products for s in _SECTIONS_FOR[p]})
    picked: dict[str, Any] = {}
    for name in sections:
        value = data[name]
        if isinstance(value, dict):
            value = {k: v for k, v in value.items() if k not in _RUNTIME_FIELDS.get(name, ())}
        picked[name] = value
    if data["extract"] != ExtractSettings().model_dump(mode="json"):  # the OCR language shapes every product; the
        picked["extract"] = data["extract"]  # default is left out, so fingerprints from before it existed still hold
    templates = sorted({t for p in products for t in _TEMPLATES_FOR[p]})
    if templates:
        try:
            picked["prompts"] = template_fingerprint(templates, settings.prompts_dir)
        except jinja2.TemplateNotFound as exc:
            raise UsageError(f"prompt template {exc.name} not found") from None
    return hash_obj(products, picked)[:16]


class Entry(BaseModel):
    """One file of the batch, as recorded in batch.json. Paths are relative to the input folder / OUT."""

    path: str
    state: State = "pending"
    sha256: str | None = None
    size: int | None = None  # with mtime_ns: the file is hashed again only when one of them changed
    mtime_ns: int | None = None
    settings_hash: str | None = None
    products: list[str] = Field(default_factory=list)
    out_dir: str | None = None
    title: str | None = None
    files: dict[str, str] = Field(default_factory=dict)  # product -> path relative to OUT
    timings: dict[str, float] = Field(default_factory=dict)  # stage -> seconds
    usage: dict[str, int] = Field(default_factory=dict)  # LLM tokens and calls of the run that produced it
    cost_usd: float = 0.0
    warnings: list[str] = Field(default_factory=list)
    error: str | None = None
    note: str | None = None  # why a file is skipped
    duplicate_of: str | None = None
    attempts: int = 0
    started_at: str | None = None
    finished_at: str | None = None
    seconds: float | None = None


class Manifest(BaseModel):
    version: int = MANIFEST_VERSION
    input_dir: str
    input_name: str | None = None  # the folder as the user named it (what the index shows)
    products: list[str]
    settings_hash: str
    executor: str = "local"
    jobs: int | None = 1
    started_at: str | None = None
    updated_at: str | None = None
    finished_at: str | None = None
    documents: dict[str, Entry] = Field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        counts = {s: 0 for s in ("pending", "running", "done", "failed", "skipped")}
        for entry in self.documents.values():
            counts[entry.state] += 1
        return counts

    def summary(self) -> dict[str, Any]:
        """What `--json` prints: the counts plus one line per document."""
        return {
            "input_dir": self.input_dir,
            "products": self.products,
            "settings_hash": self.settings_hash,
            "counts": self.counts(),
            "documents": [
                {k: v for k, v in e.model_dump().items()
                 if k in ("path", "state", "out_dir", "files", "error", "note", "duplicate_of", "attempts", "seconds",
                          "usage", "title")}
                for e in self.documents.values()
            ],
        }


def load_manifest(out: str | Path) -> Manifest | None:
    """The manifest as last recorded in OUT: batch.json, plus the journal of the run it belongs to (a run that is
    in progress or was killed). A journal line cut short by a kill is ignored. None when there is no manifest."""
    out = Path(out)
    data = read_json(out / MANIFEST_NAME)
    if not isinstance(data, dict) or data.get("version") != MANIFEST_VERSION:
        return None
    try:
        manifest = Manifest.model_validate(data)
    except ValueError:
        return None
    try:
        lines = (out / JOURNAL_NAME).read_bytes().splitlines()
    except OSError:
        return manifest
    try:
        header = json.loads(lines[0])
    except (ValueError, IndexError):
        return manifest
    if not isinstance(header, dict) or header.get("run") != manifest.started_at:
        return manifest  # the journal of an earlier run, already folded into this batch.json
    for line in lines[1:]:
        try:
            record = json.loads(line)
            entry = Entry.model_validate(record["entry"])
        except (ValueError, KeyError, TypeError):
            continue
        manifest.documents[entry.path] = entry
        manifest.updated_at = record.get("at", manifest.updated_at)
    return manifest


class Journal:
    """Saves one manifest in OUT: `begin` writes the plan as batch.json and starts an empty journal, `record` appends
    one synced line per state change, `close` writes batch.json whole again and drops the journal it now contains.
    Thread-safe: executors report from their own threads."""

    def __init__(self, out: Path, manifest: Manifest):
        self.manifest = manifest
        self.manifest_path = out / MANIFEST_NAME
        self.path = out / JOURNAL_NAME
        self._handle: IO[str] | None = None
        self._lock = threading.Lock()

    def begin(self) -> None:
        """The journal is tagged with the run's start time, so a journal left by another run is never replayed over
        this manifest."""
        with self._lock:
            self._begin()

    def _begin(self) -> None:
        self.manifest.started_at = self.manifest.started_at or now_iso()
        self.manifest.updated_at = now_iso()
        atomic_write_json(self.manifest_path, self.manifest)
        atomic_write_text(self.path, json_text({"run": self.manifest.started_at}, indent=None) + "\n")
        self._handle = open(self.path, "a", encoding="utf-8")

    def record(self, entry: Entry) -> None:
        """Persist one entry's new state: one line appended and synced, whatever the batch's size."""
        with self._lock:
            if self._handle is None:
                self._begin()
            self.manifest.updated_at = now_iso()
            self._handle.write(json_text({"at": self.manifest.updated_at, "entry": entry}, indent=None) + "\n")
            self._handle.flush()
            os.fsync(self._handle.fileno())

    def close(self) -> None:
        with self._lock:
            self.manifest.updated_at = now_iso()
            atomic_write_json(self.manifest_path, self.manifest)
            if self._handle is not None:
                self._handle.close()
                self._handle = None
            self.path.unlink(missing_ok=True)
