"""Whole folders: discover documents, run `pipeline.process_document` on each (in local processes or on Ray), and
keep a manifest (`OUT/batch.json`) that makes the batch resumable.

Only the driver (this process) writes the manifest. A run writes `batch.json` whole when it starts (the plan) and
when it ends (the readable summary); in between, every state change is one line appended to `OUT/.batch.journal`,
so saving costs the same with ten documents or ten thousand, and a run killed at any moment (even kill -9) is picked
up by `load_manifest` (batch.json plus the journal of the run it belongs to). A rerun skips a document whose bytes
(sha256, recomputed only when its size or mtime changed), settings fingerprint and outputs are unchanged and whose
state is `done`; anything else (changed, failed, or left `running` by a killed run) is processed again. Documents
with identical bytes at two paths are processed once: the first path in sorted order (or the one already done) is
the original, the others are recorded as `skipped` with `duplicate_of` and link to the original's outputs.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import re
import threading
import time
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import IO, Any, Callable, Literal

from pydantic import BaseModel, Field

from ..config import Settings
from ..errors import NotebookError, UsageError
from ..store import (
    atomic_write_json,
    atomic_write_text,
    hash_obj,
    json_text,
    portable_name,
    read_json,
    sha256_file,
)

MANIFEST_NAME = "batch.json"
INDEX_NAME = "index.html"
JOURNAL_NAME = ".batch.journal"
LOCK_NAME = ".batch.lock"
MANIFEST_VERSION = 1
DEFAULT_TIME_LIMIT = 7200  # seconds one document may take before it is recorded as failed

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
    "script": (*_NOTES_TEMPLATES, "outline", "segment"),
    "podcast": (*_NOTES_TEMPLATES, "outline", "segment"),
}
# The outputs (keys of DocumentResult.files) of which each product must have written at least one.
_OUTPUTS_OF = {
    "extract": ("extract",),
    "notes": ("summary", "notes", "cards_csv", "cards_apkg", "quiz"),
    "script": ("script",),
    "podcast": ("podcast",),
}
# Fields that change how a run goes, never what it produces (and secrets, which must not be hashed into files).
_RUNTIME_FIELDS = {
    "llm": ("base_url", "api_key", "concurrency", "timeout", "max_retries", "threads", "use_cache", "prices_file",
            "retry_base_delay", "prompt_cache"),
    "tts": ("workers", "api_key"),
}
# The temp files of store.atomic_write_* (".<name>.<8 random characters>.part").
_TEMP_FILE = re.compile(r"\..+\.[a-z0-9_]{8}\.part")


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


@lru_cache(maxsize=1)
def supported_suffixes() -> tuple[str, ...]:
    """Every suffix extraction reads (its own registry), so batch and extract never disagree."""
    from ..sources.extract import KINDS

    return tuple(KINDS)


def normalize_products(products: list[str] | tuple[str, ...] | str) -> list[str]:
    """Validated, ordered product names; `podcast` implies `script` (the pipeline does the same)."""
    from ..pipeline import PRODUCTS

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
    import jinja2

    from ..llm.prompts import template_fingerprint

    data = settings.model_dump(mode="json")
    sections = sorted({s for p in products for s in _SECTIONS_FOR[p]})
    picked: dict[str, Any] = {}
    for name in sections:
        value = data[name]
        if isinstance(value, dict):
            value = {k: v for k, v in value.items() if k not in _RUNTIME_FIELDS.get(name, ())}
        picked[name] = value
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


# ---------------------------------------------------------------------------------------------------------------
# discovery

_LINKED_FILE = "symbolic link (not followed; --follow-symlinks reads what it points to)"
_LINKED_FOLDER = "symbolic link to a folder (not followed; --follow-symlinks scans it)"


def is_batch_output(folder: Path) -> bool:
    """A folder a batch wrote (its lock file, or its manifest and index): never input to another batch."""
    return (folder / LOCK_NAME).exists() or ((folder / MANIFEST_NAME).is_file() and (folder / INDEX_NAME).is_file())


def discover(input_dir: Path, pattern: str | None = None, exclude: Path | None = None,
             follow_symlinks: bool = False) -> tuple[list[str], list[tuple[str, str]]]:
    """(supported documents, [(skipped file or folder, note)]) under `input_dir`, as sorted POSIX paths relative to
    it (a folder's with a trailing '/').

    Hidden files and folders (name starting with '.') are skipped silently; so is `exclude` (the output folder when
    it lies inside the input). Other batches' output folders are skipped with a note, and so are symbolic links
    unless `follow_symlinks` (a link to a secret must not be read and sent to an LLM without being asked for).
    `pattern` (a glob such as '*.pdf' or 'papers/**/*.pdf') narrows the documents.
    """
    found: list[str] = []
    skipped: list[tuple[str, str]] = []
    exclude = exclude.resolve() if exclude else None
    suffixes = supported_suffixes()
    scanned = {os.path.realpath(input_dir)}
    for root, dirs, files in os.walk(input_dir, followlinks=follow_symlinks):
        root_path = Path(root)
        keep = []
        for name in sorted(dirs):
            path = root_path / name
            if name.startswith(".") or (exclude and path.resolve() == exclude):
                continue
            rel = path.relative_to(input_dir).as_posix() + "/"
            if path.is_symlink() and not follow_symlinks:
                skipped.append((rel, _LINKED_FOLDER))
            elif os.path.realpath(path) in scanned:
                skipped.append((rel, "the same folder as one already scanned"))
            elif is_batch_output(path):
                skipped.append((rel, "output folder of a batch (not scanned)"))
            else:
                scanned.add(os.path.realpath(path))
                keep.append(name)
        dirs[:] = keep
        for name in sorted(files):
            if name.startswith("."):
                continue
            path = root_path / name
            rel = path.relative_to(input_dir).as_posix()
            if pattern and not (Path(rel).match(pattern) or Path(name).match(pattern)):
                continue
            if path.is_symlink() and not follow_symlinks:
                skipped.append((rel, _LINKED_FILE))
                continue
            if not path.is_file():
                continue
            if path.suffix.lower() in suffixes:
                found.append(rel)
            else:
                skipped.append((rel, f"unsupported file type '{portable_name(path.suffix or name)}'"))
    return sorted(found), sorted(skipped)


def _out_name(rel: str) -> str:
    return portable_name(Path(rel).with_suffix("").as_posix())


# ---------------------------------------------------------------------------------------------------------------
# the run


def one_line_error(exc: BaseException) -> str:
    """Our errors as their message; anything unexpected as 'Type: message'. Always one line."""
    text = str(exc) if isinstance(exc, NotebookError) else f"{type(exc).__name__}: {exc}"
    text = " ".join(text.split())
    return text[:500] or type(exc).__name__


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


def run_document_task(task: dict[str, Any], progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """The unit of work shipped to a worker process or a Ray node: plain data in, plain data out.

    Never raises for a bad document: the outcome carries a one-line error instead, so one document never stops the
    batch and nothing un-picklable crosses a process boundary.
    """
    from ..pipeline import process_document

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


class Batch:
    """One batch run: discovery and resume against the manifest, then the executor, then index.html."""

    def __init__(self, input_dir: str | Path, out_dir: str | Path, settings: Settings,
                 products: list[str] | tuple[str, ...] | str = ("notes", "podcast"), jobs: int | None = 1,
                 pattern: str | None = None, executor: str = "local", address: str | None = None,
                 password: str | None = None, reporter: "Reporter | None" = None, follow_symlinks: bool = False,
                 time_limit: float | None = DEFAULT_TIME_LIMIT):
        given = Path(input_dir)
        self.input_dir = given.resolve()
        if not self.input_dir.is_dir():
            raise UsageError(f"not a folder: {portable_name(str(input_dir))}")
        # What the index calls the folder: as given when that is a plain relative path, else its name.
        self.input_name = portable_name(given.as_posix() if given.parts and not given.is_absolute()
                                        and ".." not in given.parts else self.input_dir.name)
        self.out = Path(out_dir).resolve()
        self.settings = settings
        self.products = normalize_products(products)
        if jobs is not None and jobs < 1:
            raise UsageError("--jobs must be at least 1")
        if executor not in ("local", "ray"):
            raise UsageError(f"unknown executor '{executor}' (local or ray)")
        if time_limit is not None and time_limit < 0:
            raise UsageError("--time-limit must be 0 (no limit) or more seconds")
        self.jobs = jobs
        self.pattern = pattern
        self.executor = executor
        self.address = address
        self.password = password
        self.follow_symlinks = follow_symlinks
        self.time_limit = time_limit or None
        self.reporter = reporter or Reporter(quiet=True)
        self.settings_hash = settings_fingerprint(settings, self.products)
        self.manifest_path = self.out / MANIFEST_NAME
        self.journal_path = self.out / JOURNAL_NAME
        self._journal: IO[str] | None = None
        self._lock = threading.Lock()
        self.manifest = Manifest(input_dir=str(self.input_dir), input_name=self.input_name, products=self.products,
                                 settings_hash=self.settings_hash, executor=executor, jobs=jobs)

    # -- manifest ------------------------------------------------------------------------------------------------

    def _begin_journal(self) -> None:
        """Write the plan as batch.json and start an empty journal for this run (tagged with its start time, so a
        journal left by another run is never replayed over this manifest)."""
        self.manifest.started_at = self.manifest.started_at or now_iso()
        self.manifest.updated_at = now_iso()
        atomic_write_json(self.manifest_path, self.manifest)
        atomic_write_text(self.journal_path, json_text({"run": self.manifest.started_at}, indent=None) + "\n")
        self._journal = open(self.journal_path, "a", encoding="utf-8")

    def record(self, entry: Entry) -> None:
        """Persist one entry's new state: one line appended to the journal and synced, whatever the batch's size."""
        with self._lock:
            if self._journal is None:
                self._begin_journal()
            self.manifest.updated_at = now_iso()
            self._journal.write(json_text({"at": self.manifest.updated_at, "entry": entry}, indent=None) + "\n")
            self._journal.flush()
            os.fsync(self._journal.fileno())

    def write_summary(self) -> None:
        """batch.json whole (the readable summary), then the journal it now contains is dropped."""
        with self._lock:
            self.manifest.updated_at = now_iso()
            atomic_write_json(self.manifest_path, self.manifest)
            if self._journal is not None:
                self._journal.close()
                self._journal = None
            self.journal_path.unlink(missing_ok=True)

    def _load_previous(self) -> dict[str, Entry]:
        manifest = load_manifest(self.out)
        return manifest.documents if manifest else {}

    def _is_finished(self, entry: Entry, sha: str) -> bool:
        return (entry.state == "done" and entry.sha256 == sha and entry.settings_hash == self.settings_hash
                and entry.products == self.products and bool(entry.files)
                and all((self.out / f).exists() for f in entry.files.values()))

    def _reserved_names(self) -> set[str]:
        """Folder names no document may take: OUT's own files, and the input folder when it lies inside OUT."""
        reserved = {MANIFEST_NAME, INDEX_NAME}
        if self.input_dir.is_relative_to(self.out) and self.input_dir != self.out:
            reserved.add(self.input_dir.relative_to(self.out).parts[0])
        return {name.casefold() for name in reserved}

    def _fingerprint_file(self, rel: str, old: Entry | None) -> tuple[str, int, int]:
        """(sha256, size, mtime_ns); the bytes are read only when the size or mtime differ from the last run's."""
        path = self.input_dir / rel
        stat = path.stat()
        if old and old.sha256 and (old.size, old.mtime_ns) == (stat.st_size, stat.st_mtime_ns):
            return old.sha256, stat.st_size, stat.st_mtime_ns
        return sha256_file(path), stat.st_size, stat.st_mtime_ns

    def plan(self) -> list[Entry]:
        """Build this run's manifest from the folder and the previous manifest; return the entries to process."""
        exclude = self.out if self.out.is_relative_to(self.input_dir) else None
        documents, skipped = discover(self.input_dir, self.pattern, exclude, self.follow_symlinks)
        if not documents and not skipped:
            raise UsageError(f"no files in {portable_name(str(self.input_dir))}"
                             + (f" matching '{self.pattern}'" if self.pattern else ""))
        previous = self._load_previous()
        entries: dict[str, Entry] = {}
        stats: dict[str, tuple[str, int, int]] = {}
        for rel in documents:
            try:
                stats[rel] = self._fingerprint_file(rel, previous.get(rel))
            except OSError as exc:  # unreadable: that file fails, the batch goes on
                entries[rel] = Entry(path=rel, state="failed", error=f"cannot read {rel}: {exc.strerror or exc}",
                                     finished_at=now_iso())
        documents = [rel for rel in documents if rel in stats]
        hashes = {rel: stats[rel][0] for rel in documents}
        # The original of each set of identical files: one already done with these settings, else the first path.
        originals: dict[str, str] = {}
        for rel in documents:
            old = previous.get(rel)
            if old and self._is_finished(old, hashes[rel]) and hashes[rel] not in originals:
                originals[hashes[rel]] = rel
        for rel in documents:
            originals.setdefault(hashes[rel], rel)
        # Output folders: a document keeps the one it was given; no two documents (nor OUT's own files) share one.
        reserved = self._reserved_names()
        kept: dict[str, str] = {}
        for rel in documents:
            old = previous.get(rel)
            if originals[hashes[rel]] == rel and old and old.out_dir:
                folded = old.out_dir.casefold()
                if folded not in reserved and folded not in {k.casefold() for k in kept.values()}:
                    kept[rel] = old.out_dir
        taken = reserved | {e.out_dir.casefold() for e in previous.values() if e.out_dir}
        todo: list[Entry] = []
        for rel in documents:
            sha, size, mtime_ns = stats[rel]
            old = previous.get(rel)
            if originals[sha] != rel:
                if old and (old.duplicate_of, old.sha256, old.settings_hash) == (originals[sha], sha, self.settings_hash):
                    old.size, old.mtime_ns = size, mtime_ns
                    entries[rel] = old
                    continue
                entries[rel] = Entry(path=rel, state="skipped", sha256=sha, size=size, mtime_ns=mtime_ns,
                                     settings_hash=self.settings_hash, products=self.products,
                                     duplicate_of=originals[sha], note=f"same content as {portable_name(originals[sha])}",
                                     finished_at=now_iso())
                continue
            if old and rel in kept and self._is_finished(old, sha):
                old.size, old.mtime_ns = size, mtime_ns
                entries[rel] = old
                continue
            out_name = kept.get(rel) or self._free_out_name(rel, taken)
            taken.add(out_name.casefold())
            entry = Entry(path=rel, sha256=sha, size=size, mtime_ns=mtime_ns, settings_hash=self.settings_hash,
                          products=self.products, out_dir=out_name, attempts=old.attempts if old else 0)
            entries[rel] = entry
            todo.append(entry)
        for rel, note in skipped:
            entries[rel] = Entry(path=rel, state="skipped", note=note)
        self.manifest.documents = dict(sorted(entries.items()))
        return todo

    @staticmethod
    def _free_out_name(rel: str, taken: set[str]) -> str:
        """OUT/<relative path without suffix>; of 'a.md' and 'a.pdf' side by side the second keeps its suffix
        ('a', 'a.pdf'), and when that is taken too (by a name given in an earlier run, or OUT's own index.html or
        batch.json) a number ('a.pdf-2'). `taken` is compared case-insensitively, so OUT can move to any disk."""
        base, full = _out_name(rel), portable_name(rel)
        for name in itertools.chain((base, full), (f"{full}-{n}" for n in itertools.count(2))):
            if name.casefold() not in taken:
                return name
        raise AssertionError("unreachable")

    def _remove_stale_temp_files(self) -> None:
        """Temp files of writes cut short by a killed run, only where this batch writes them: OUT's own files and the
        documents' output folders (never anything else in OUT, which may hold the user's files or even the input)."""
        for path in self.out.glob(".*.part"):
            if any(path.name.startswith(f".{name}.") for name in (MANIFEST_NAME, INDEX_NAME, JOURNAL_NAME)) \
                    and _TEMP_FILE.fullmatch(path.name):
                path.unlink(missing_ok=True)
        for entry in self.manifest.documents.values():
            folder = self.out / entry.out_dir if entry.out_dir else None
            if folder is None or not folder.is_dir():
                continue
            for root, dirs, files in os.walk(folder):
                dirs[:] = [d for d in dirs if Path(root, d) != self.input_dir]
                for name in files:
                    if _TEMP_FILE.fullmatch(name):
                        Path(root, name).unlink(missing_ok=True)

    # -- events from the executor ----------------------------------------------------------------------------------

    def task_for(self, entry: Entry, settings: Settings) -> dict[str, Any]:
        return {"path": entry.path, "source": str(self.input_dir / entry.path),
                "out_dir": str(self.out / (entry.out_dir or _out_name(entry.path))),
                "settings": settings.model_dump(mode="json"), "products": self.products,
                "password": self.password}

    def started(self, path: str) -> None:
        entry = self.manifest.documents[path]
        entry.state, entry.attempts, entry.started_at = "running", entry.attempts + 1, now_iso()
        entry.error = entry.finished_at = None
        self.record(entry)
        self.reporter.started(path)

    def stage(self, path: str, stage: str) -> None:
        self.reporter.stage(path, stage)

    def finished(self, path: str, outcome: dict[str, Any]) -> None:
        entry = self.manifest.documents[path]
        entry.finished_at, entry.seconds = now_iso(), outcome.get("seconds")
        problem = outcome.get("error")
        if problem is None:
            result = outcome["result"]
            files = {k: self._relative(v) for k, v in result["files"].items()}
            problem = self._missing_outputs(files)
        if problem is not None:
            entry.state, entry.error = "failed", self._relative_paths(problem)
        else:
            entry.state, entry.error, entry.title = "done", None, outcome.get("title")
            entry.files = files
            entry.timings, entry.usage = result["timings"], result["usage"]
            entry.cost_usd, entry.warnings = result["cost_usd"], result["warnings"]
        self.record(entry)
        self.reporter.finished(path, entry)

    def _missing_outputs(self, files: dict[str, str]) -> str | None:
        """Why these outputs cannot count as done (none at all, a product without output, a missing or empty
        file), or None. Nothing empty is ever recorded as done."""
        if not files:
            return "the run produced no outputs"
        for product in self.products:
            if not any(key in files for key in _OUTPUTS_OF[product]):
                return f"the run produced no {product} output"
        for relative in files.values():
            path = self.out / relative
            if not path.is_file():
                return f"{portable_name(relative)} was not written"
            if path.stat().st_size == 0:
                return f"{portable_name(relative)} is empty"
        return None

    def _relative_paths(self, error: str) -> str:
        """An error names files relative to the input folder and OUT, as the manifest does (not machine paths)."""
        return error.replace(f"{self.input_dir}/", "").replace(f"{self.out}/", "")

    def requeue(self, path: str) -> None:
        """Back to pending (the run was interrupted, or the worker died under it and it gets another try)."""
        entry = self.manifest.documents[path]
        entry.state, entry.started_at = "pending", None
        self.record(entry)

    def _relative(self, path: str) -> str:
        p = Path(path)
        try:
            return p.resolve().relative_to(self.out).as_posix()
        except ValueError:
            return str(p)

    # -- the whole run ---------------------------------------------------------------------------------------------

    def run(self) -> Manifest:
        with self._exclusive():
            return self._run()

    @contextlib.contextmanager
    def _exclusive(self):
        """One batch at a time per OUT; the lock dies with the process, so a killed run never blocks the next."""
        import fcntl

        self.out.mkdir(parents=True, exist_ok=True)
        with open(self.out / LOCK_NAME, "a+") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise UsageError(f"another batch is running on {portable_name(str(self.out))}") from None
            yield

    def _run(self) -> Manifest:
        from .executors import make_executor, shared_llm

        todo = self.plan()
        self._remove_stale_temp_files()
        self.manifest.started_at, self.manifest.finished_at = now_iso(), None
        self._begin_journal()
        done_before = sum(1 for e in self.manifest.documents.values() if e.state == "done")
        self.reporter.begin(len(todo), done_before, self.manifest.counts()["skipped"])
        try:
            if todo:
                with shared_llm(self.settings, self.products, self.executor, self.address) as settings:
                    worker_settings = worker_settings_for(settings, self.jobs if self.executor == "local" else None)
                    executor = make_executor(self.executor, self.jobs, self.address, time_limit=self.time_limit)
                    executor.run([self.task_for(e, worker_settings) for e in todo], self)
            self.manifest.finished_at = now_iso()
        except BaseException:
            for entry in self.manifest.documents.values():
                if entry.state == "running":
                    entry.state = "pending"
            raise
        finally:
            self.write_summary()
            self.write_index()
        self.reporter.end(self.manifest)
        return self.manifest

    def write_index(self) -> Path:
        return atomic_write_text(self.out / INDEX_NAME, render_index(self.manifest, self.out))


def worker_settings_for(settings: Settings, jobs: int | None) -> Settings:
    """Each of `jobs` local workers gets its share of the TTS processes (cores in all) and of the LLM concurrency,
    so parallel jobs don't oversubscribe the machine or the endpoint (at most max(jobs, llm.concurrency) calls are in
    flight). Ray schedules one task per CPU per node, so there `jobs` is None and each task keeps the settings."""
    if not jobs:
        return settings
    cores = os.cpu_count() or 1
    return settings.with_overrides(**{"tts.workers": max(1, (settings.tts.workers or cores) // jobs),
                                      "llm.concurrency": max(1, settings.llm.concurrency // jobs)})


# ---------------------------------------------------------------------------------------------------------------
# index.html

# (label, file name) in the order the index shows them; only outputs recorded for the document's current state
# (its entry's `files`, and the report of that run) are linked, never leftovers of earlier runs.
INDEX_LINKS = (
    ("summary", "summary.md"), ("notes", "notes.md"), ("quiz", "quiz.md"), ("cards (Anki)", "cards.apkg"),
    ("cards (CSV)", "cards.csv"), ("script", "script.md"), ("transcript", "transcript.md"),
    ("subtitles (SRT)", "podcast.srt"), ("subtitles (VTT)", "podcast.vtt"), ("chapters", "chapters.txt"),
    ("text", "document.json"), ("report", "report.json"),
)


def current_outputs(entry: Entry | None) -> set[str]:
    """The files (relative to OUT) produced for this entry's current state and products; none unless it is done."""
    if entry is None or entry.state != "done" or not entry.out_dir:
        return set()
    return {*entry.files.values(), f"{entry.out_dir}/report.json"}


def render_index(manifest: Manifest, out: Path) -> str:
    """OUT/index.html: every document with its state, links to its outputs and a player for its podcast."""
    from importlib.resources import files

    import jinja2

    template_text = files("notebooklm_clone").joinpath("resources", "templates", "index.html.j2").read_text(encoding="utf-8")
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    rows = []
    for entry in manifest.documents.values():
        shown = manifest.documents.get(entry.duplicate_of) if entry.duplicate_of else entry
        outputs = current_outputs(shown)
        links, audio = [], None
        if outputs:
            for label, name in INDEX_LINKS:
                relative = f"{shown.out_dir}/{name}"
                if relative in outputs and (out / relative).is_file():
                    links.append({"label": label, "href": _href(relative)})
            podcast = f"{shown.out_dir}/podcast.mp3"
            if podcast in outputs and (out / podcast).is_file():
                audio = _href(podcast)
        title = (shown.title if shown else None) or Path(entry.path.rstrip("/")).stem
        rows.append({"path": portable_name(entry.path), "title": portable_name(title), "state": entry.state,
                     "error": portable_name(entry.error) if entry.error else None,
                     "note": portable_name(entry.note) if entry.note else None,
                     "duplicate_of": portable_name(entry.duplicate_of) if entry.duplicate_of else None,
                     "links": links, "audio": audio, "seconds": entry.seconds, "finished_at": entry.finished_at})
    heading = portable_name(manifest.input_name or Path(manifest.input_dir).name)
    return env.from_string(template_text).render(manifest=manifest, heading=heading, rows=rows,
                                                 counts=manifest.counts(), generated_at=now_iso())


def _href(relative: str) -> str:
    from urllib.parse import quote

    return quote(relative, safe="/", errors="surrogateescape")  # a name that is not UTF-8 links to its very bytes


# ---------------------------------------------------------------------------------------------------------------
# progress on stderr


class Reporter:
    """Live progress: documents done/total, the stage each running document is in, and an ETA."""

    def __init__(self, quiet: bool = False, stream=None):
        import sys

        self.quiet = quiet
        self.stream = stream or sys.stderr
        self.total = self.finished_count = self.failed = 0
        self.current: dict[str, str] = {}
        self.start = time.monotonic()
        self._lock = threading.Lock()

    def _say(self, text: str) -> None:
        if not self.quiet:
            with self._lock:
                print(portable_name(text), file=self.stream, flush=True)

    def begin(self, todo: int, done_before: int, skipped: int) -> None:
        self.total, self.start = todo, time.monotonic()
        self._say(f"batch: {todo} to process, {done_before} already done, {skipped} skipped")

    def _status(self) -> str:
        elapsed = time.monotonic() - self.start
        eta = ""
        if self.finished_count and self.finished_count < self.total:
            seconds = elapsed / self.finished_count * (self.total - self.finished_count)
            eta = f", ETA {int(seconds // 60)}m{int(seconds % 60):02d}s"
        failed = f", {self.failed} failed" if self.failed else ""
        return f"[{self.finished_count}/{self.total}{failed}{eta}]"

    def started(self, path: str) -> None:
        self.current[path] = "starting"
        self._say(f"{self._status()} {path}: started")

    def stage(self, path: str, stage: str) -> None:
        self.current[path] = stage
        self._say(f"{self._status()} {path}: {stage} done")

    def finished(self, path: str, entry: Entry) -> None:
        self.current.pop(path, None)
        self.finished_count += 1
        self.failed += entry.state == "failed"
        detail = f"failed: {entry.error}" if entry.state == "failed" else f"done in {entry.seconds or 0:.1f}s"
        self._say(f"{self._status()} {path}: {detail}")

    def end(self, manifest: Manifest) -> None:
        counts = manifest.counts()
        self._say("batch: " + ", ".join(f"{n} {state}" for state, n in counts.items() if n)
                  + f" in {time.monotonic() - self.start:.1f}s")


def summary_table(manifest: Manifest) -> str:
    """The final table: one row per file with its state, time, tokens and error or note."""
    rows = [("document", "state", "seconds", "tokens", "detail")]
    for e in manifest.documents.values():
        tokens = sum(v for k, v in e.usage.items() if "tokens" in k and "cached" not in k) if e.usage else 0
        detail = e.error or (f"duplicate of {e.duplicate_of}" if e.duplicate_of else e.note) or ""
        rows.append((e.path, e.state, f"{e.seconds:.1f}" if e.seconds is not None else "", str(tokens or ""), detail))
    rows = [tuple(portable_name(c) for c in row) for row in rows]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r[:4], widths)) + "  " + r[4] for r in rows)


def run_batch(input_dir: str | Path, out_dir: str | Path, settings: Settings, **options: Any) -> Manifest:
    """Process a folder; returns the manifest (its counts tell whether anything failed)."""
    return Batch(input_dir, out_dir, settings, **options).run()
