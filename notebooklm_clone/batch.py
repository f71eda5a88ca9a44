"""Whole folders: discover documents, run `pipeline.process_document` on each (in local processes or on Ray), and
keep a manifest (`OUT/batch.json`) that makes the batch resumable.

The manifest is the single source of truth and only the driver (this process) writes it, atomically, after every
state change. A rerun skips a document whose bytes (sha256), settings fingerprint and outputs are unchanged and whose
state is `done`; anything else (changed, failed, or left `running` by a killed run) is processed again. Documents
with identical bytes at two paths are processed once: the first path in sorted order (or the one already done) is
the original, the others are recorded as `skipped` with `duplicate_of` and link to the original's outputs.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Literal

from pydantic import BaseModel, Field

from .config import Settings
from .errors import NotebookError, UsageError
from .store import atomic_write_json, atomic_write_text, hash_obj, read_json, sha256_file

SUPPORTED_SUFFIXES = (".pdf", ".epub", ".html", ".htm", ".md", ".txt")
MANIFEST_NAME = "batch.json"
INDEX_NAME = "index.html"
MANIFEST_VERSION = 1

State = Literal["pending", "running", "done", "failed", "skipped"]

# Which settings sections shape which product; a change elsewhere does not redo a finished document.
_SECTIONS_FOR = {
    "extract": (),
    "notes": ("llm", "chunk", "notes", "prompts_dir"),
    "script": ("llm", "chunk", "notes", "script", "prompts_dir"),
    "podcast": ("llm", "chunk", "notes", "script", "tts", "audio", "prompts_dir"),
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
    from .pipeline import PRODUCTS

    if isinstance(products, str):
        products = [p.strip() for p in products.split(",") if p.strip()]
    unknown = sorted(set(products) - set(PRODUCTS))
    if unknown or not products:
        raise UsageError(f"unknown product(s) {', '.join(unknown) or '(none)'}; choose from {', '.join(PRODUCTS)}")
    if "podcast" in products:
        products = [*products, "script"]
    return [p for p in PRODUCTS if p in products]


def settings_fingerprint(settings: Settings, products: list[str]) -> str:
    """Hash of exactly the settings that shape these products' outputs (not ports, keys, concurrency or paths)."""
    data = settings.model_dump(mode="json")
    sections = sorted({s for p in products for s in _SECTIONS_FOR[p]})
    picked: dict[str, Any] = {}
    for name in sections:
        value = data[name]
        if isinstance(value, dict):
            value = {k: v for k, v in value.items() if k not in _RUNTIME_FIELDS.get(name, ())}
        picked[name] = value
    return hash_obj(products, picked)[:16]


class Entry(BaseModel):
    """One file of the batch, as recorded in batch.json. Paths are relative to the input folder / OUT."""

    path: str
    state: State = "pending"
    sha256: str | None = None
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


# ---------------------------------------------------------------------------------------------------------------
# discovery


def discover(input_dir: Path, pattern: str | None = None, exclude: Path | None = None) -> tuple[list[str], list[tuple[str, str]]]:
    """(supported documents, [(unsupported file, note)]) under `input_dir`, as sorted POSIX paths relative to it.

    Hidden files and folders (name starting with '.') are skipped silently; so is `exclude` (the output folder when
    it lies inside the input). `pattern` (a glob such as '*.pdf' or 'papers/**/*.pdf') narrows the documents.
    """
    found: list[str] = []
    unsupported: list[tuple[str, str]] = []
    exclude = exclude.resolve() if exclude else None
    for root, dirs, files in os.walk(input_dir, followlinks=False):
        root_path = Path(root)
        dirs[:] = sorted(d for d in dirs if not d.startswith(".")
                         and not (exclude and (root_path / d).resolve() == exclude))
        for name in sorted(files):
            if name.startswith("."):
                continue
            path = root_path / name
            rel = path.relative_to(input_dir).as_posix()
            if not path.is_file():
                continue
            if pattern and not (Path(rel).match(pattern) or Path(name).match(pattern)):
                continue
            if path.suffix.lower() in SUPPORTED_SUFFIXES:
                found.append(rel)
            else:
                unsupported.append((rel, f"unsupported file type '{path.suffix or name}'"))
    return sorted(found), sorted(unsupported)


def _out_name(rel: str) -> str:
    return Path(rel).with_suffix("").as_posix()


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
            with open(out_dir / name, encoding="utf-8") as handle:
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
    from .pipeline import process_document

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
                 password: str | None = None, reporter: "Reporter | None" = None):
        self.input_dir = Path(input_dir).resolve()
        if not self.input_dir.is_dir():
            raise UsageError(f"not a folder: {input_dir}")
        self.out = Path(out_dir).resolve()
        self.settings = settings
        self.products = normalize_products(products)
        if jobs is not None and jobs < 1:
            raise UsageError("--jobs must be at least 1")
        if executor not in ("local", "ray"):
            raise UsageError(f"unknown executor '{executor}' (local or ray)")
        self.jobs = jobs
        self.pattern = pattern
        self.executor = executor
        self.address = address
        self.password = password
        self.reporter = reporter or Reporter(quiet=True)
        self.settings_hash = settings_fingerprint(settings, self.products)
        self.manifest_path = self.out / MANIFEST_NAME
        self._lock = threading.Lock()
        self.manifest = Manifest(input_dir=str(self.input_dir), products=self.products,
                                 settings_hash=self.settings_hash, executor=executor, jobs=jobs)

    # -- manifest ------------------------------------------------------------------------------------------------

    def save(self) -> None:
        with self._lock:
            self.manifest.updated_at = now_iso()
            atomic_write_json(self.manifest_path, self.manifest)

    def _load_previous(self) -> dict[str, Entry]:
        data = read_json(self.manifest_path)
        if not isinstance(data, dict) or data.get("version") != MANIFEST_VERSION:
            return {}
        try:
            return Manifest.model_validate(data).documents
        except ValueError:
            return {}

    def _is_finished(self, entry: Entry, sha: str) -> bool:
        return (entry.state == "done" and entry.sha256 == sha and entry.settings_hash == self.settings_hash
                and entry.products == self.products
                and all((self.out / f).exists() for f in entry.files.values()))

    def plan(self) -> list[Entry]:
        """Build this run's manifest from the folder and the previous manifest; return the entries to process."""
        exclude = self.out if self.out.is_relative_to(self.input_dir) else None
        documents, unsupported = discover(self.input_dir, self.pattern, exclude)
        if not documents and not unsupported:
            raise UsageError(f"no files in {self.input_dir}" + (f" matching '{self.pattern}'" if self.pattern else ""))
        previous = self._load_previous()
        hashes = {rel: sha256_file(self.input_dir / rel) for rel in documents}
        # The original of each set of identical files: one already done with these settings, else the first path.
        originals: dict[str, str] = {}
        for rel in documents:
            old = previous.get(rel)
            if old and self._is_finished(old, hashes[rel]) and hashes[rel] not in originals:
                originals[hashes[rel]] = rel
        for rel in documents:
            originals.setdefault(hashes[rel], rel)
        taken = {e.out_dir for e in previous.values() if e.out_dir}
        entries: dict[str, Entry] = {}
        todo: list[Entry] = []
        for rel in documents:
            sha = hashes[rel]
            old = previous.get(rel)
            if originals[sha] != rel:
                if old and (old.duplicate_of, old.sha256, old.settings_hash) == (originals[sha], sha, self.settings_hash):
                    entries[rel] = old
                    continue
                entries[rel] = Entry(path=rel, state="skipped", sha256=sha, settings_hash=self.settings_hash,
                                     products=self.products, duplicate_of=originals[sha],
                                     note=f"same content as {originals[sha]}", finished_at=now_iso())
                continue
            if old and self._is_finished(old, sha):
                entries[rel] = old
                continue
            out_name = old.out_dir if old and old.out_dir else self._free_out_name(rel, taken)
            taken.add(out_name)
            entry = Entry(path=rel, sha256=sha, settings_hash=self.settings_hash, products=self.products,
                          out_dir=out_name, attempts=old.attempts if old else 0)
            entries[rel] = entry
            todo.append(entry)
        for rel, note in unsupported:
            entries[rel] = Entry(path=rel, state="skipped", note=note)
        self.manifest.documents = dict(sorted(entries.items()))
        return todo

    def _free_out_name(self, rel: str, taken: set[str]) -> str:
        """OUT/<relative path without suffix>; of 'a.md' and 'a.pdf' side by side the second keeps its suffix
        ('a', 'a.pdf'), and a name once given stays with its document on reruns."""
        name = _out_name(rel)
        return rel if name in taken else name

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
        self.save()
        self.reporter.started(path)

    def stage(self, path: str, stage: str) -> None:
        self.reporter.stage(path, stage)

    def finished(self, path: str, outcome: dict[str, Any]) -> None:
        entry = self.manifest.documents[path]
        entry.finished_at, entry.seconds = now_iso(), outcome.get("seconds")
        if "error" in outcome:
            entry.state, entry.error = "failed", outcome["error"]
        else:
            result = outcome["result"]
            entry.state, entry.error, entry.title = "done", None, outcome.get("title")
            entry.files = {k: self._relative(v) for k, v in result["files"].items()}
            entry.timings, entry.usage = result["timings"], result["usage"]
            entry.cost_usd, entry.warnings = result["cost_usd"], result["warnings"]
        self.save()
        self.reporter.finished(path, entry)

    def requeue(self, path: str) -> None:
        """Back to pending (the run was interrupted, or the worker died under it and it gets another try)."""
        entry = self.manifest.documents[path]
        entry.state, entry.started_at = "pending", None
        self.save()

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
        with open(self.out / ".batch.lock", "a+") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise UsageError(f"another batch is running on {self.out}") from None
            yield

    def _run(self) -> Manifest:
        from .executors import make_executor, shared_llm

        todo = self.plan()
        for stale in self.out.rglob(".*.part"):  # temp files of writes cut short by a killed run
            stale.unlink(missing_ok=True)
        self.manifest.started_at, self.manifest.finished_at = now_iso(), None
        self.save()
        done_before = sum(1 for e in self.manifest.documents.values() if e.state == "done")
        self.reporter.begin(len(todo), done_before, self.manifest.counts()["skipped"])
        try:
            if todo:
                with shared_llm(self.settings, self.products, self.executor, self.address) as settings:
                    worker_settings = worker_settings_for(settings, self.jobs if self.executor == "local" else None)
                    executor = make_executor(self.executor, self.jobs, self.address)
                    executor.run([self.task_for(e, worker_settings) for e in todo], self)
        except BaseException:
            for entry in self.manifest.documents.values():
                if entry.state == "running":
                    entry.state = "pending"
            self.save()
            raise
        finally:
            self.write_index()
        self.manifest.finished_at = now_iso()
        self.save()
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

# (label, file name) in the order the index shows them; only files that exist are linked.
INDEX_LINKS = (
    ("summary", "summary.md"), ("notes", "notes.md"), ("quiz", "quiz.md"), ("cards (Anki)", "cards.apkg"),
    ("cards (CSV)", "cards.csv"), ("script", "script.md"), ("transcript", "transcript.md"),
    ("subtitles (SRT)", "podcast.srt"), ("subtitles (VTT)", "podcast.vtt"), ("chapters", "chapters.txt"),
    ("text", "document.json"), ("report", "report.json"),
)


def render_index(manifest: Manifest, out: Path) -> str:
    """OUT/index.html: every document with its state, links to its outputs and a player for its podcast."""
    from importlib.resources import files

    import jinja2

    template_text = files("notebooklm_clone").joinpath("templates", "index.html.j2").read_text(encoding="utf-8")
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    rows = []
    for entry in manifest.documents.values():
        shown = manifest.documents.get(entry.duplicate_of) if entry.duplicate_of else entry
        out_dir = (shown.out_dir if shown else None) or None
        links, audio = [], None
        if out_dir and (out / out_dir).is_dir():
            for label, name in INDEX_LINKS:
                if (out / out_dir / name).is_file():
                    links.append({"label": label, "href": _href(f"{out_dir}/{name}")})
            if (out / out_dir / "podcast.mp3").is_file():
                audio = _href(f"{out_dir}/podcast.mp3")
        rows.append({"path": entry.path, "title": (shown.title if shown else None) or Path(entry.path).stem,
                     "state": entry.state, "error": entry.error, "note": entry.note,
                     "duplicate_of": entry.duplicate_of, "links": links, "audio": audio,
                     "seconds": entry.seconds, "finished_at": entry.finished_at})
    return env.from_string(template_text).render(manifest=manifest, rows=rows, counts=manifest.counts(),
                                                 generated_at=now_iso())


def _href(relative: str) -> str:
    from urllib.parse import quote

    return quote(relative, safe="/")


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
                print(text, file=self.stream, flush=True)

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
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r[:4], widths)) + "  " + r[4] for r in rows)


def run_batch(input_dir: str | Path, out_dir: str | Path, settings: Settings, **options: Any) -> Manifest:
    """Process a folder; returns the manifest (its counts tell whether anything failed)."""
    return Batch(input_dir, out_dir, settings, **options).run()
