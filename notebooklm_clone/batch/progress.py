"""What a batch tells the user: live progress on stderr while it runs, and the table at the end."""

from __future__ import annotations

import json
import sys
import threading
import time

from ..progress import clock, describe
from ..store import portable_name
from .manifest import Entry, Manifest


class Reporter:
    """Live progress on stderr: documents done/total, each running document's stage and LLM calls, and an ETA from
    the seconds per page of the documents finished so far (a page count says more about the work than a file
    count; the first documents' fixed costs still make it rough). With `as_json`, one JSON object per event instead, each naming its document."""

    def __init__(self, quiet: bool = False, stream=None, as_json: bool = False):
        self.quiet = quiet
        self.as_json = as_json
        self.stream = stream or sys.stderr
        self.total = self.finished_count = self.failed = 0
        self.pages: dict[str, int] = {}
        self.seconds_done = 0.0  # what the finished documents took, each from its start
        self.started_at: dict[str, float] = {}
        self.done_paths: set[str] = set()
        self.current: dict[str, str] = {}
        self.start = time.monotonic()
        self._lock = threading.Lock()

    def _say(self, text: str, event: dict | None = None) -> None:
        if self.quiet:
            return
        with self._lock:
            if self.as_json:
                print(json.dumps(event or {"event": "batch", "message": text}), file=self.stream, flush=True)
            else:
                print(portable_name(text), file=self.stream, flush=True)

    def begin(self, todo: int, done_before: int, skipped: int, pages: dict[str, int] | None = None) -> None:
        self.total, self.start = todo, time.monotonic()
        self.pages = dict(pages or {})
        self._say(f"batch: {todo} to process, {done_before} already done, {skipped} skipped")

    @property
    def pages_done(self) -> int:
        return sum(self.pages.get(path, 1) for path in self.done_paths)

    def eta_s(self) -> float | None:
        """Seconds left: the pages not finished at the seconds per page the finished documents took, less the time
        the running ones have had, shared among them when several run at once."""
        if not self.pages_done or self.finished_count >= self.total:
            return None
        now = time.monotonic()
        left = sum(pages for path, pages in self.pages.items() if path not in self.done_paths)
        running = [now - start for start in self.started_at.values()]
        work = self.seconds_done / self.pages_done * left - sum(running)
        return max(0.0, work / max(1, len(running)))

    def _status(self) -> str:
        eta = self.eta_s()
        failed = f", {self.failed} failed" if self.failed else ""
        return f"[{self.finished_count}/{self.total}{failed}{f', ETA {clock(eta)}' if eta is not None else ''}]"

    def started(self, path: str) -> None:
        self.current[path] = "starting"
        self.started_at[path] = time.monotonic()
        self._say(f"{self._status()} {path}: started", {"event": "started", "document": path})

    def progress(self, path: str, event: dict) -> None:
        if event.get("event") == "stage":
            self.current[path] = event.get("stage", "")
        self._say(f"{self._status()} {path}: {describe(event)}", {**event, "document": path})

    def finished(self, path: str, entry: Entry) -> None:
        self.current.pop(path, None)
        self.finished_count += 1
        self.seconds_done += time.monotonic() - self.started_at.pop(path, time.monotonic())
        self.done_paths.add(path)
        self.failed += entry.state == "failed"
        detail = f"failed: {entry.error}" if entry.state == "failed" else f"done in {entry.seconds or 0:.1f}s"
        eta = self.eta_s()
        self._say(f"{self._status()} {path}: {detail}",
                  {"event": "finished", "document": path, "state": entry.state, "seconds": entry.seconds,
                   "error": entry.error, "eta_s": round(eta, 1) if eta is not None else None})

    def end(self, manifest: Manifest) -> None:
        counts = manifest.counts()
        seconds = time.monotonic() - self.start
        self._say("batch: " + ", ".join(f"{n} {state}" for state, n in counts.items() if n) + f" in {seconds:.1f}s",
                  {"event": "end", "counts": counts, "seconds": round(seconds, 1)})


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
