"""What a batch tells the user: live progress on stderr while it runs, and the table at the end."""

from __future__ import annotations

import sys
import threading
import time

from ..store import portable_name
from .manifest import Entry, Manifest


class Reporter:
    """Live progress: documents done/total, the stage each running document is in, and an ETA."""

    def __init__(self, quiet: bool = False, stream=None):
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
