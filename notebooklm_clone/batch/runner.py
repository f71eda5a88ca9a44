"""A batch run over a whole folder: plan it against the previous manifest (resume, duplicates, output folders), hand
the documents to an executor (local processes or Ray), record every outcome, and write index.html.

A rerun skips a document whose bytes (sha256, recomputed only when its size or mtime changed), settings fingerprint
and outputs are unchanged and whose state is `done`; anything else (changed, failed, or left `running` by a killed
run) is processed again. Documents with identical bytes at two paths are processed once: the first path in sorted
order (or the one already done) is the original, the others are recorded as `skipped` with `duplicate_of` and link
to the original's outputs. Only the driver (this process) writes the manifest.
"""

from __future__ import annotations

import contextlib
import fcntl
import itertools
import os
import re
from pathlib import Path
from typing import Any

from ..config import Settings
from ..errors import UsageError
from ..store import atomic_write_text, portable_name, sha256_file
from .discovery import discover
from .executors import make_executor, shared_llm
from .index import render_index
from .manifest import (
    INDEX_NAME,
    JOURNAL_NAME,
    LOCK_NAME,
    MANIFEST_NAME,
    Entry,
    Journal,
    Manifest,
    load_manifest,
    normalize_products,
    now_iso,
    settings_fingerprint,
)
from .progress import Reporter

DEFAULT_TIME_LIMIT = 7200  # seconds one document may take before it is recorded as failed

# The outputs (keys of DocumentResult.files) of which each product must have written at least one.
_OUTPUTS_OF = {
    "extract": ("extract",),
    "notes": ("summary", "notes", "cards_csv", "cards_apkg", "quiz"),
    "script": ("script",),
    "podcast": ("podcast",),
}
# The temp files of store.atomic_write_* (".<name>.<8 random characters>.part").
_TEMP_FILE = re.compile(r"\..+\.[a-z0-9_]{8}\.part")


def _out_name(rel: str) -> str:
    return portable_name(Path(rel).with_suffix("").as_posix())


class Batch:
    """One batch run: discovery and resume against the manifest, then the executor, then index.html."""

    def __init__(self, input_dir: str | Path, out_dir: str | Path, settings: Settings,
                 products: list[str] | tuple[str, ...] | str = ("notes", "podcast"), jobs: int | None = 1,
                 pattern: str | None = None, executor: str = "local", address: str | None = None,
                 password: str | None = None, reporter: Reporter | None = None, follow_symlinks: bool = False,
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
        self.manifest = Manifest(input_dir=str(self.input_dir), input_name=self.input_name, products=self.products,
                                 settings_hash=self.settings_hash, executor=executor, jobs=jobs)
        self.journal = Journal(self.out, self.manifest)
        self.manifest_path = self.journal.manifest_path
        self.journal_path = self.journal.path

    # -- manifest ------------------------------------------------------------------------------------------------

    def record(self, entry: Entry) -> None:
        """Persist one entry's new state (one line appended to the journal, whatever the batch's size)."""
        self.journal.record(entry)

    def write_summary(self) -> None:
        """batch.json whole (the readable summary); the journal it now contains is dropped."""
        self.journal.close()

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

    def progress(self, path: str, event: dict[str, Any]) -> None:
        self.reporter.progress(path, event)

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
        self.out.mkdir(parents=True, exist_ok=True)
        with open(self.out / LOCK_NAME, "a+") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise UsageError(f"another batch is running on {portable_name(str(self.out))}") from None
            yield

    def _run(self) -> Manifest:
        todo = self.plan()
        self._remove_stale_temp_files()
        self.manifest.started_at, self.manifest.finished_at = now_iso(), None
        self.journal.begin()
        done_before = sum(1 for e in self.manifest.documents.values() if e.state == "done")
        self.reporter.begin(len(todo), done_before, self.manifest.counts()["skipped"],
                            pages={e.path: page_count(self.input_dir / e.path) for e in todo})
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


def page_count(path: Path) -> int:
    """Pages of a document, for the ETA: a PDF's own count, else one per ~3,000 bytes of text (at least one)."""
    if path.suffix.lower() == ".pdf":
        with contextlib.suppress(Exception):
            import pymupdf

            with pymupdf.open(path) as pdf:
                return max(1, pdf.page_count)
    with contextlib.suppress(OSError):
        return max(1, path.stat().st_size // 3000)
    return 1


def worker_settings_for(settings: Settings, jobs: int | None) -> Settings:
    """Each of `jobs` local workers gets its share of the TTS processes (cores in all) and of the LLM concurrency,
    so parallel jobs don't oversubscribe the machine or the endpoint (at most max(jobs, llm.concurrency) calls are in
    flight). Ray schedules one task per CPU per node, so there `jobs` is None and each task keeps the settings."""
    if not jobs:
        return settings
    cores = os.cpu_count() or 1
    return settings.with_overrides(**{"tts.workers": max(1, (settings.tts.workers or cores) // jobs),
                                      "llm.concurrency": max(1, settings.llm.concurrency // jobs)})


def run_batch(input_dir: str | Path, out_dir: str | Path, settings: Settings, **options: Any) -> Manifest:
    """Process a folder; returns the manifest (its counts tell whether anything failed)."""
    return Batch(input_dir, out_dir, settings, **options).run()
