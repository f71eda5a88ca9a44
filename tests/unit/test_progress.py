"""Progress that tells the truth: call counts with an ETA from measured seconds, stage events, and a batch ETA that
weighs documents by their pages."""

from __future__ import annotations

import io
import json

from notebooklm_clone import progress as progress_module
from notebooklm_clone.batch import progress as batch_progress
from notebooklm_clone.batch.manifest import Entry
from notebooklm_clone.progress import CallMeter, Display, describe


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_call_eta_is_the_remaining_calls_at_the_measured_seconds_per_call(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(progress_module.time, "monotonic", clock)
    events = []
    meter = CallMeter("map", 5, events.append)
    meter.finished(cached=True)  # answered from the cache: instant, no measure yet
    assert events[-1] == {"event": "calls", "stage": "map", "done": 1, "total": 5, "tokens_per_s": None,
                          "eta_s": None}
    clock.now += 40
    meter.finished(cached=False, completion_tokens=400)
    assert events[-1]["eta_s"] == 120.0 and events[-1]["tokens_per_s"] == 10.0  # 3 calls left at 40 s each
    clock.now += 20
    meter.finished(cached=False, completion_tokens=200)
    assert events[-1]["done"] == 3 and events[-1]["eta_s"] == 60.0  # 2 left at (40 + 20) / 2 s
    assert describe(events[-1]) == "map: 3/5 calls, 10.0 tok/s, ETA 1m00s"


def test_display_writes_json_lines_or_one_readable_line_per_event():
    stream = io.StringIO()
    Display(as_json=True, stream=stream)({"event": "stage", "stage": "notes", "seconds": 312.4})
    assert json.loads(stream.getvalue()) == {"event": "stage", "stage": "notes", "seconds": 312.4}
    stream = io.StringIO()
    Display(stream=stream)({"event": "stage", "stage": "notes", "seconds": 312.4})
    assert stream.getvalue() == "  notes done in 5m12s\n"
    stream = io.StringIO()
    Display(quiet=True, stream=stream)({"event": "stage", "stage": "notes", "seconds": 1})
    assert stream.getvalue() == ""


def test_batch_eta_weighs_the_documents_left_by_their_pages(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(batch_progress.time, "monotonic", clock)
    stream = io.StringIO()
    reporter = batch_progress.Reporter(stream=stream)
    reporter.begin(3, 0, 0, pages={"memo.pdf": 1, "paper.pdf": 10, "report.pdf": 20})
    reporter.started("paper.pdf")
    clock.now += 600  # ten pages in ten minutes
    reporter.finished("paper.pdf", Entry(path="paper.pdf", state="done", seconds=600))
    assert reporter.eta_s() == 1260.0  # 21 pages left at 60 s a page; a count of files would have said 1200 s
    reporter.started("report.pdf")
    clock.now += 300  # the running document's time counts as done work: the ETA falls as time passes
    assert reporter.eta_s() == 960.0
    reporter.progress("report.pdf", {"event": "calls", "stage": "map", "done": 2, "total": 9, "tokens_per_s": 14.0,
                                     "eta_s": 300})
    assert stream.getvalue().splitlines()[-1] == "[1/3, ETA 16m00s] report.pdf: map: 2/9 calls, 14.0 tok/s, ETA 5m00s"


def test_batch_json_progress_names_the_document():
    stream = io.StringIO()
    reporter = batch_progress.Reporter(stream=stream, as_json=True)
    reporter.begin(1, 0, 0, pages={"a.pdf": 2})
    reporter.progress("a.pdf", {"event": "stage", "stage": "notes", "seconds": 3.0})
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert lines[-1] == {"event": "stage", "stage": "notes", "seconds": 3.0, "document": "a.pdf"}
