"""Worker processes: none outlives a killed command, a crash or a timeout costs only its own document, and a
document that shares the machine with others synthesises speech inline on its share of the cores."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from pdfs import make_pdf, scanned_report

from notebooklm_clone import procs
from notebooklm_clone.batch.runner import Batch
from notebooklm_clone.config import Settings
from notebooklm_clone.models import Script, Segment, Speaker, Turn

LONG_TURNS = [
    "Plate tectonics explains why continents drift a few centimetres every year across the surface of the planet.",
    "Right, and the ridges in the middle of the oceans are where new crust forms as magma rises and cools down.",
    "Subduction zones are the other half of the story, where old crust sinks back into the mantle below.",
    "Earthquakes and volcanoes cluster along those boundaries, which is why the map of them looks like a seam.",
    "The theory took decades to be accepted, because nobody could say what force moved such enormous plates.",
    "Today satellites measure the motion directly, and the numbers match what the rocks on the sea floor say.",
] * 2


def session_members(sid: int) -> list[int]:
    """Every live process in session `sid` (a command started with start_new_session and all it started)."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == sid and fields[0] != "Z":  # fields after "(comm)": state ppid pgrp session
            members.append(int(entry.name))
    return members


def spawned_children(pid: int) -> list[int]:
    """Pids of multiprocessing workers (spawn) whose parent is `pid`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if ppid == pid and b"spawn_main" in cmdline:
            found.append(int(entry.name))
    return found


@pytest.mark.tts
def test_kill_9_of_speak_while_it_synthesises_leaves_no_process(tmp_path):
    script = Script(title="Plates", speakers=[Speaker(id="a", name="A"), Speaker(id="b", name="B")],
                    segments=[Segment(title="Only", words=200)],
                    turns=[Turn(speaker="ab"[i % 2], text=text) for i, text in enumerate(LONG_TURNS)])
    (tmp_path / "script.json").write_text(script.model_dump_json())
    env = {**os.environ, "NOTEBOOKLM_CLONE_CACHE": str(tmp_path / "cache")}
    command = [sys.executable, "-m", "notebooklm_clone", "-q", "speak", "script.json", "--workers", "2", "-o", "out"]
    process = subprocess.Popen(command, cwd=tmp_path, env=env, start_new_session=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and process.poll() is None:
            if len(spawned_children(process.pid)) == 2 and list((tmp_path / "cache" / "tts").rglob("*.flac")):
                break  # both synthesis workers are up and clips are being written
            time.sleep(0.05)
        assert process.poll() is None, "speak finished before it could be killed"
        assert len(spawned_children(process.pid)) == 2
        process.kill()
        process.wait()
        deadline = time.monotonic() + 15
        while session_members(process.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert session_members(process.pid) == []
    finally:
        with_pids = session_members(process.pid)
        for pid in with_pids:
            os.kill(pid, signal.SIGKILL)


FAULT_SITECUSTOMIZE = """
# Fault injection for a test: in every worker process, the task for doomed.pdf kills its own process with
# SIGSEGV, as a crash in a native library would.
import os, signal
import notebooklm_clone.batch.task as batch

real_task = batch.run_document_task

def crash_on_doomed(task, progress=None):
    if task["path"] == "doomed.pdf":
        os.kill(os.getpid(), signal.SIGSEGV)
    return real_task(task, progress)

batch.run_document_task = crash_on_doomed
"""


def test_a_worker_that_keeps_crashing_fails_only_its_own_document(tmp_path, monkeypatch):
    """With --jobs 2, the worker process that takes `doomed.pdf` crashes (SIGSEGV) while `healthy.pdf` is being
    processed beside it: the healthy document is done at its first attempt, only the doomed one is failed, after
    two deaths."""
    faults = tmp_path / "faults"
    faults.mkdir()
    (faults / "sitecustomize.py").write_text(FAULT_SITECUSTOMIZE)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(faults), *sys.path]))
    root = tmp_path / "in"
    make_pdf(root / "doomed.pdf", "doomed", pages=2)
    scanned_report(root / "healthy.pdf", pages=3)
    manifest = Batch(root, tmp_path / "out", Settings(cache_dir=str(tmp_path / "cache")), products=["extract"],
                     jobs=2).run()
    healthy, lost = manifest.documents["healthy.pdf"], manifest.documents["doomed.pdf"]
    assert (healthy.state, healthy.attempts) == ("done", 1)
    assert (lost.state, lost.attempts) == ("failed", 2)
    assert lost.error == "worker process died while processing this document (killed by SIGSEGV)"
    assert spawned_children(os.getpid()) == []


def test_a_document_over_the_time_limit_is_stopped_and_the_others_finish(tmp_path):
    """A scanned PDF (OCR, many seconds) under a 6 s limit is stopped and failed with 'timed out after 6 s'; the
    small documents beside it finish, and no worker process is left."""
    from notebooklm_clone.batch.executors import make_executor

    root = tmp_path / "in"
    scanned_report(root / "scan.pdf", pages=30)
    for name in ("one", "two", "three"):
        (root / f"{name}.md").write_text(f"# {name}\n\nThe {name} note is short.\n", encoding="utf-8")
    batch = Batch(root, tmp_path / "out", Settings(cache_dir=str(tmp_path / "cache")), products=["extract"], jobs=2)
    todo = batch.plan()
    started = time.monotonic()
    make_executor("local", 2, time_limit=6).run([batch.task_for(e, batch.settings) for e in todo], batch)
    elapsed = time.monotonic() - started
    documents = batch.manifest.documents
    assert documents["scan.pdf"].state == "failed" and documents["scan.pdf"].error == "timed out after 6 s"
    assert [documents[f"{n}.md"].state for n in ("one", "two", "three")] == ["done"] * 3
    assert [documents[f"{n}.md"].attempts for n in ("one", "two", "three")] == [1, 1, 1]
    assert elapsed < 60  # stopped, not waited for
    assert spawned_children(os.getpid()) == []


class RecordingEvents:
    """Stands in for the Ray progress queue, in process: records the cores this task may use at each stage."""

    def __init__(self):
        self.shares: list[tuple[str, int | None]] = []

    def put_nowait(self, item):
        self.shares.append((item[1], procs.cpu_share()))


def test_a_ray_task_counts_as_one_core_and_speaks_inline(tmp_path):
    from notebooklm_clone.batch.executors import _ray_work
    from notebooklm_clone.config import TTSSettings
    from notebooklm_clone.stages.speech import worker_count
    from notebooklm_clone.tts.engine import cpu_count, get_engine

    root = tmp_path / "in"
    (root).mkdir()
    (root / "a.md").write_text("# A\n\nShort.\n", encoding="utf-8")
    batch = Batch(root, tmp_path / "out", Settings(cache_dir=str(tmp_path / "cache")), products=["extract"])
    task = batch.task_for(batch.plan()[0], batch.settings)
    events = RecordingEvents()
    outcome = _ray_work(task, events)
    assert "error" not in outcome
    assert events.shares and all(share == 1 for _, share in events.shares)
    assert procs.cpu_share() is None  # restored after the task

    with procs.sharing_cores(1):
        assert cpu_count() == 1
        assert worker_count(TTSSettings(workers=4), jobs=10) == 1
        assert get_engine(TTSSettings(engine="embedded")).threads == 1
    assert worker_count(TTSSettings(workers=2), jobs=10) == 2  # the machine is ours again
