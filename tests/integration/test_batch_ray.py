"""The Ray executor on a real local Ray instance: same per-document task, same outputs and manifest as local
processes (the driver writes the manifest; results land in the same OUT layout). The LLM stages on Ray are tested
at the end of test_batch.py's kill -9 test, which has a warm response cache to compare against."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pdfs import make_pdf

from notebooklm_clone.batch import Batch
from notebooklm_clone.config import Settings

ray = pytest.importorskip("ray", reason="the ray extra is not installed")

NOT_COMPARED = {"batch.json", "index.html", ".batch.lock"}


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def output_files(out: Path) -> dict[str, bytes]:
    """Every output file under `out` by relative path; the OUT folder's own path (which some JSON files record)
    is replaced by a placeholder so two OUT folders compare by content."""
    return {p.relative_to(out).as_posix(): p.read_bytes().replace(str(out).encode(), b"<OUT>")
            for p in sorted(out.rglob("*")) if p.is_file() and p.name not in NOT_COMPARED}


def comparable(entry: dict) -> dict:
    """A manifest entry without what differs from run to run (times, the worker's timings)."""
    return {k: v for k, v in entry.items() if k not in ("started_at", "finished_at", "seconds", "timings")}


def test_ray_executor_matches_local_processes(tmp_path, local_ray):
    root = tmp_path / "in"
    make_pdf(root / "alpha.pdf", "alpha", pages=3)
    make_pdf(root / "nested" / "beta.pdf", "beta")
    (root / "nested" / "gamma.md").write_text("# Gamma\n\nPlates move a few centimetres a year.\n", encoding="utf-8")
    (root / "broken.pdf").write_bytes(b"%PDF-1.7\n" + b"\x00garbage" * 50)
    settings = Settings(cache_dir=str(tmp_path / "cache"))

    local = Batch(root, tmp_path / "local", settings, products=["extract"], jobs=2).run()
    on_ray = Batch(root, tmp_path / "ray", settings, products=["extract"], jobs=2, executor="ray").run()

    assert on_ray.executor == "ray"
    assert {rel: comparable(e.model_dump()) for rel, e in on_ray.documents.items()} == \
        {rel: comparable(e.model_dump()) for rel, e in local.documents.items()}
    assert on_ray.documents["broken.pdf"].state == "failed" and "damaged" in on_ray.documents["broken.pdf"].error
    assert on_ray.counts() == {"pending": 0, "running": 0, "done": 3, "failed": 0 + 1, "skipped": 0}

    local_files, ray_files = output_files(tmp_path / "local"), output_files(tmp_path / "ray")
    assert sorted(ray_files) == sorted(local_files) == [
        "alpha/document.json", "alpha/report.json", "nested/beta/document.json", "nested/beta/report.json",
        "nested/gamma/document.json", "nested/gamma/report.json"]
    for name, data in local_files.items():
        if name.endswith("report.json"):  # the timings differ; the rest must agree
            a, b = json.loads(data), json.loads(ray_files[name])
            assert a.pop("timings").keys() == b.pop("timings").keys() and a == b
        else:
            assert ray_files[name] == data, name

    # The manifest written by the Ray driver resumes like any other: a local rerun redoes nothing.
    rerun = Batch(root, tmp_path / "ray", settings, products=["extract"], jobs=1).run()
    assert {rel: e.attempts for rel, e in rerun.documents.items()} == {
        "alpha.pdf": 1, "broken.pdf": 2, "nested/beta.pdf": 1, "nested/gamma.md": 1}


def test_remote_cluster_with_the_embedded_llm_is_refused_up_front(tmp_path, monkeypatch):
    """Workers on other nodes cannot reach a server on this machine's 127.0.0.1: one clear line, exit code 2,
    before any document is marked running."""
    from notebooklm_clone.errors import UsageError

    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    root = tmp_path / "in"
    make_pdf(root / "alpha.pdf", "alpha")
    batch = Batch(root, tmp_path / "out", Settings(cache_dir=str(tmp_path / "cache")), products=["notes"],
                  executor="ray", address="10.0.0.7:6379")
    with pytest.raises(UsageError, match="Ray workers on other nodes cannot reach") as caught:
        batch.run()
    assert caught.value.exit_code == 2
    assert batch.manifest.documents["alpha.pdf"].state == "pending"


def test_a_ray_task_over_the_time_limit_is_cancelled_and_reported(tmp_path, local_ray):
    """A scanned PDF (OCR, many seconds) under a 6 s limit: its task is cancelled and the document failed with
    'timed out after 6 s'; the small document beside it is done."""
    from pdfs import scanned_report

    from notebooklm_clone.batch import make_executor

    root = tmp_path / "in"
    scanned_report(root / "scan.pdf", pages=30)
    (root / "note.md").write_text("# Note\n\nShort.\n", encoding="utf-8")
    batch = Batch(root, tmp_path / "out", Settings(cache_dir=str(tmp_path / "cache")), products=["extract"], jobs=2,
                  executor="ray")
    make_executor("ray", 2, time_limit=6).run([batch.task_for(e, batch.settings) for e in batch.plan()], batch)
    documents = batch.manifest.documents
    assert (documents["scan.pdf"].state, documents["scan.pdf"].error) == ("failed", "timed out after 6 s")
    assert documents["note.md"].state == "done"
