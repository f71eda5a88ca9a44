"""Batch runs over real folders of real documents (PDFs built with PyMuPDF, Markdown, text): discovery, the
manifest, resume after a kill -9, duplicates, failures and exit codes. Extraction-only products keep these fast;
the LLM test at the end runs the notes product on the shared embedded server."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pymupdf
import pytest
from click.testing import CliRunner

from notebooklm_clone.batch import Batch, discover, settings_fingerprint
from notebooklm_clone.cli import main
from notebooklm_clone.config import Settings

TOPICS = {
    "alpha": "Photosynthesis converts light energy into chemical energy stored in glucose.",
    "beta": "The mitochondrion produces most of the cell's supply of adenosine triphosphate.",
    "gamma": "Plate tectonics explains earthquakes, volcanoes and the drift of the continents.",
    "delta": "The French Revolution began in 1789 and ended the absolute monarchy in France.",
}


def make_pdf(path: Path, title: str, pages: int = 2, text: str | None = None, **save_options) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = pymupdf.open()
    for number in range(1, pages + 1):
        page = doc.new_page()
        page.insert_text((72, 72), f"{title}: section {number}", fontsize=16)
        body = text or TOPICS.get(title, f"Body text of {title}.")
        for line in range(12):
            page.insert_text((72, 110 + 18 * line), f"{body} (page {number}, line {line + 1})", fontsize=10)
    doc.set_metadata({"title": f"{title.title()} Report"})
    doc.save(path, **save_options)
    return path


def make_mixed_folder(root: Path) -> Path:
    """Good PDFs (one nested), Markdown and text, a corrupt PDF, an encrypted PDF, a duplicate, hidden files and an
    unsupported file."""
    make_pdf(root / "alpha.pdf", "alpha")
    make_pdf(root / "papers" / "beta.pdf", "beta")
    (root / "gamma.md").write_text("# Gamma Notes\n\n" + TOPICS["gamma"] + "\n", encoding="utf-8")
    (root / "papers" / "delta.txt").write_text(TOPICS["delta"] + "\n", encoding="utf-8")
    (root / "broken.pdf").write_bytes(b"%PDF-1.7\n" + b"\x00garbage\xff" * 200)
    make_pdf(root / "locked.pdf", "locked", encryption=pymupdf.PDF_ENCRYPT_AES_256, user_pw="s3cret", owner_pw="owner")
    shutil.copy(root / "alpha.pdf", root / "papers" / "copy-of-alpha.pdf")
    (root / ".hidden.md").write_text("# hidden\n", encoding="utf-8")
    (root / ".git").mkdir()
    (root / ".git" / "notes.md").write_text("# also hidden\n", encoding="utf-8")
    (root / "slides.pptx").write_bytes(b"PK\x03\x04 not a supported type")
    return root


def run_cli(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def manifest_of(out: Path) -> dict:
    return json.loads((out / "batch.json").read_text(encoding="utf-8"))


def test_discover_skips_hidden_and_notes_unsupported(tmp_path):
    root = make_mixed_folder(tmp_path / "in")
    documents, unsupported = discover(root)
    assert documents == ["alpha.pdf", "broken.pdf", "gamma.md", "locked.pdf", "papers/beta.pdf",
                         "papers/copy-of-alpha.pdf", "papers/delta.txt"]
    assert unsupported == [("slides.pptx", "unsupported file type '.pptx'")]
    assert discover(root, "*.pdf")[0] == ["alpha.pdf", "broken.pdf", "locked.pdf", "papers/beta.pdf",
                                         "papers/copy-of-alpha.pdf"]
    assert discover(root, "papers/*.txt")[0] == ["papers/delta.txt"]


def test_mixed_folder_manifest_exit_code_and_resume(tmp_path):
    root = make_mixed_folder(tmp_path / "in")
    out = tmp_path / "out"
    first = run_cli("batch", str(root), "-o", str(out), "--products", "extract", "--jobs", "2", "--json")
    assert first.exit_code == 5, first.output
    summary = json.loads(first.stdout)
    assert summary["counts"] == {"pending": 0, "running": 0, "done": 4, "failed": 2, "skipped": 2}
    m = manifest_of(out)
    docs = m["documents"]
    assert sorted(docs) == ["alpha.pdf", "broken.pdf", "gamma.md", "locked.pdf", "papers/beta.pdf",
                            "papers/copy-of-alpha.pdf", "papers/delta.txt", "slides.pptx"]
    for rel in ("alpha.pdf", "gamma.md", "papers/beta.pdf", "papers/delta.txt"):
        entry = docs[rel]
        assert entry["state"] == "done" and entry["attempts"] == 1 and entry["error"] is None
        assert entry["out_dir"] == rel.rsplit(".", 1)[0]
        assert entry["files"] == {"extract": f"{entry['out_dir']}/document.json"}
        document = json.loads((out / entry["files"]["extract"]).read_text(encoding="utf-8"))
        assert document["sha256"] == entry["sha256"]
        assert entry["timings"]["extract"] >= 0 and entry["finished_at"] and entry["settings_hash"] == m["settings_hash"]
    assert docs["alpha.pdf"]["title"] == "Alpha Report"
    assert docs["papers/copy-of-alpha.pdf"]["state"] == "skipped"
    assert docs["papers/copy-of-alpha.pdf"]["duplicate_of"] == "alpha.pdf"
    assert docs["papers/copy-of-alpha.pdf"]["sha256"] == docs["alpha.pdf"]["sha256"]
    assert not (out / "papers" / "copy-of-alpha").exists()
    assert docs["slides.pptx"] == {**docs["slides.pptx"], "state": "skipped", "note": "unsupported file type '.pptx'"}
    for rel in ("broken.pdf", "locked.pdf"):
        assert docs[rel]["state"] == "failed" and docs[rel]["attempts"] == 1
        assert docs[rel]["error"] and "\n" not in docs[rel]["error"] and "Traceback" not in docs[rel]["error"]
    assert "password" in docs["locked.pdf"]["error"].lower()
    assert not any(".hidden" in rel or ".git" in rel for rel in docs)

    # Rerun with the password: only the two failed documents run again; finished ones are untouched.
    second = run_cli("batch", str(root), "-o", str(out), "--products", "extract", "--password", "s3cret", "-q")
    assert second.exit_code == 5
    again = manifest_of(out)["documents"]
    assert again["locked.pdf"]["state"] == "done" and again["locked.pdf"]["attempts"] == 2
    assert again["broken.pdf"]["state"] == "failed" and again["broken.pdf"]["attempts"] == 2
    for rel in ("alpha.pdf", "gamma.md", "papers/beta.pdf", "papers/delta.txt"):
        assert again[rel] == docs[rel]

    # Without the corrupt file everything is done: exit 0, and its entry leaves the manifest.
    (root / "broken.pdf").unlink()
    third = run_cli("batch", str(root), "-o", str(out), "--products", "extract", "-q")
    assert third.exit_code == 0, third.output
    final = manifest_of(out)["documents"]
    assert "broken.pdf" not in final
    assert {rel: e["state"] for rel, e in final.items()} == {
        "alpha.pdf": "done", "gamma.md": "done", "locked.pdf": "done", "papers/beta.pdf": "done",
        "papers/copy-of-alpha.pdf": "skipped", "papers/delta.txt": "done", "slides.pptx": "skipped"}
    assert final["locked.pdf"]["attempts"] == 2


def test_changed_or_missing_outputs_or_new_settings_are_redone(tmp_path):
    root = tmp_path / "in"
    make_pdf(root / "alpha.pdf", "alpha")
    make_pdf(root / "beta.pdf", "beta")
    make_pdf(root / "gamma.pdf", "gamma")
    out = tmp_path / "out"
    settings = Settings(cache_dir=str(tmp_path / "cache"))
    Batch(root, out, settings, products=["extract"]).run()
    before = manifest_of(out)["documents"]

    make_pdf(root / "alpha.pdf", "alpha", text="A different text: the document changed.")  # changed bytes
    (out / "beta" / "document.json").unlink()  # an output went missing
    manifest = Batch(root, out, settings, products=["extract"]).run()
    after = manifest.documents
    assert after["alpha.pdf"].attempts == 2 and after["alpha.pdf"].sha256 != before["alpha.pdf"]["sha256"]
    assert "A different text" in (out / "alpha" / "document.json").read_text(encoding="utf-8")
    assert after["beta.pdf"].attempts == 2 and (out / "beta" / "document.json").is_file()
    assert after["gamma.pdf"].attempts == 1 and after["gamma.pdf"].finished_at == before["gamma.pdf"]["finished_at"]

    # Settings that do not shape the extract product (the LLM, voices, ports) do not redo anything.
    other = settings.with_overrides(**{"llm.temperature": 0.0, "tts.engine": "espeak", "llm.base_url": "http://x"})
    assert settings_fingerprint(other, ["extract"]) == settings_fingerprint(settings, ["extract"])
    assert settings_fingerprint(other, ["notes"]) != settings_fingerprint(settings, ["notes"])
    assert settings_fingerprint(settings.with_overrides(**{"llm.concurrency": 4, "llm.api_key": "k",
                                                          "llm.base_url": "http://127.0.0.1:4242/v1"}), ["notes"]) \
        == settings_fingerprint(settings, ["notes"])
    rerun = Batch(root, out, other, products=["extract"]).run()
    assert {rel: e.attempts for rel, e in rerun.documents.items()} == {"alpha.pdf": 2, "beta.pdf": 2, "gamma.pdf": 1}


def test_a_new_copy_of_a_finished_document_is_recorded_as_its_duplicate(tmp_path):
    """The original is the path already done, even when the new copy sorts first: nothing is processed twice."""
    root = tmp_path / "in"
    make_pdf(root / "later" / "paper.pdf", "alpha")
    out = tmp_path / "out"
    settings = Settings(cache_dir=str(tmp_path / "cache"))
    first = Batch(root, out, settings, products=["extract"]).run().documents["later/paper.pdf"]
    shutil.copy(root / "later" / "paper.pdf", root / "early.pdf")
    manifest = Batch(root, out, settings, products=["extract"]).run()
    assert manifest.documents["later/paper.pdf"] == first
    assert manifest.documents["early.pdf"].state == "skipped"
    assert manifest.documents["early.pdf"].duplicate_of == "later/paper.pdf"
    assert not (out / "early").exists()


def test_same_stem_different_types_get_separate_out_dirs(tmp_path):
    root = tmp_path / "in"
    make_pdf(root / "report.pdf", "alpha")
    (root / "report.md").write_text("# Report in Markdown\n\nDifferent content.\n", encoding="utf-8")
    out = tmp_path / "out"
    manifest = Batch(root, out, Settings(cache_dir=str(tmp_path / "cache")), products=["extract"]).run()
    assert manifest.documents["report.md"].out_dir == "report"
    assert manifest.documents["report.pdf"].out_dir == "report.pdf"
    assert json.loads((out / "report.pdf" / "document.json").read_text())["title"] == "Alpha Report"


def test_out_inside_input_folder_is_not_discovered(tmp_path):
    root = tmp_path / "in"
    make_pdf(root / "alpha.pdf", "alpha")
    settings = Settings(cache_dir=str(tmp_path / "cache"))
    Batch(root, root / "results", settings, products=["extract"]).run()
    manifest = Batch(root, root / "results", settings, products=["extract"]).run()
    assert list(manifest.documents) == ["alpha.pdf"]


def children_of(pid: int) -> list[int]:
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            children.append(int(stat.parent.name))
    return children


def wait_until_gone(pids: list[int], timeout: float = 15.0) -> bool:
    """True once none of `pids` is alive (a zombie waiting for its reaper counts as gone)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        alive = []
        for pid in pids:
            try:
                state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
            except OSError:
                continue
            if state != "Z":
                alive.append(pid)
        if not alive:
            return True
        time.sleep(0.1)
    return False


def test_kill_9_mid_batch_then_rerun_finishes_each_document_once(tmp_path):
    """SIGKILL the batch process as soon as the manifest shows a finished document; the rerun keeps what was done
    (same attempts and timestamps), retries the one left running, and leaves no temp files or broken outputs."""
    root = tmp_path / "in"
    names = [f"doc{i:02d}" for i in range(5)]
    for name in names:
        make_pdf(root / f"{name}.pdf", name, pages=60)
    out = tmp_path / "out"
    command = [sys.executable, "-m", "notebooklm_clone", "batch", str(root), "-o", str(out),
               "--products", "extract", "--jobs", "1", "-q"]
    env = {**os.environ, "NOTEBOOKLM_CLONE_CACHE": str(tmp_path / "cache")}
    process = subprocess.Popen(command, env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    killed_with = None
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        try:
            data = json.loads((out / "batch.json").read_text(encoding="utf-8"))
        except (FileNotFoundError, json.JSONDecodeError) as exc:  # the manifest is replaced atomically: never partial
            assert isinstance(exc, FileNotFoundError), exc
            data = None
        if data and any(e["state"] == "done" for e in data["documents"].values()):
            workers = children_of(process.pid)
            os.kill(process.pid, signal.SIGKILL)
            killed_with = data
            break
        time.sleep(0.005)
    process.wait(timeout=30)
    assert killed_with is not None, f"batch ended before it could be killed: {process.stderr.read().decode()}"
    assert process.returncode == -signal.SIGKILL
    assert workers, "the batch should have had a worker process"
    assert wait_until_gone(workers), f"worker processes outlived the killed batch: {workers}"
    at_kill = manifest_of(out)["documents"]
    finished = {rel for rel, e in at_kill.items() if e["state"] == "done"}
    assert 1 <= len(finished) < len(names)
    for rel in finished:  # what the manifest calls done is complete on disk
        document = json.loads((out / at_kill[rel]["files"]["extract"]).read_text(encoding="utf-8"))
        assert document["page_count"] == 60

    rerun = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    final = manifest_of(out)["documents"]
    assert all(e["state"] == "done" for e in final.values())
    for rel, entry in final.items():
        if rel in finished:
            assert entry["attempts"] == 1 and entry["finished_at"] == at_kill[rel]["finished_at"]
        elif at_kill[rel]["state"] == "running":
            assert entry["attempts"] == 2
        else:
            assert entry["attempts"] == 1
    assert sum(e["attempts"] for e in final.values()) == len(names) + sum(
        1 for e in at_kill.values() if e["state"] == "running")
    assert not list(out.rglob("*.part"))
    for entry in final.values():
        assert json.loads((out / entry["files"]["extract"]).read_text(encoding="utf-8"))["page_count"] == 60


def test_second_batch_on_the_same_out_is_refused_while_one_runs(tmp_path):
    import fcntl

    from notebooklm_clone.errors import UsageError

    root = tmp_path / "in"
    make_pdf(root / "alpha.pdf", "alpha")
    out = tmp_path / "out"
    out.mkdir()
    with open(out / ".batch.lock", "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        with pytest.raises(UsageError, match="another batch is running"):
            Batch(root, out, Settings(cache_dir=str(tmp_path / "cache")), products=["extract"]).run()


def test_usage_errors_are_one_line_with_exit_code_2(tmp_path):
    root = tmp_path / "in"
    root.mkdir()
    result = run_cli("batch", str(root), "-o", str(tmp_path / "out"), "--products", "extract")
    assert result.exit_code == 2 and result.stderr.strip() == f"error: no files in {root.resolve()}"
    make_pdf(root / "alpha.pdf", "alpha")
    result = run_cli("batch", str(root), "-o", str(tmp_path / "out"), "--products", "notes,video")
    assert result.exit_code == 2
    assert result.stderr.strip() == "error: unknown product(s) video; choose from extract, notes, script, podcast"


@pytest.mark.llm
def test_kill_9_during_an_llm_batch_then_rerun_repeats_no_finished_llm_work(tmp_path, llm_settings):
    """The notes product on the shared embedded server (0.5B): kill -9 once one document is done, rerun, and the
    finished document keeps its manifest entry (attempts, finish time, LLM usage): no LLM call was repeated for it.
    (This is also the Ray executor's LLM test: one cold notes run is all the LLM time this area's tests spend.)"""
    root = tmp_path / "in"
    root.mkdir()
    (root / "a.md").write_text("# Photosynthesis\n\n" + TOPICS["alpha"] + " Chlorophyll absorbs red and blue light.\n",
                               encoding="utf-8")
    (root / "b.txt").write_text(TOPICS["gamma"] + " Plates move a few centimetres a year.\n", encoding="utf-8")
    llm = llm_settings.llm
    config = tmp_path / "batch.toml"
    config.write_text(
        f'cache_dir = "{llm_settings.cache_dir}"\n\n[llm]\nbase_url = "{llm.base_url}"\napi_key = "embedded"\n'
        f'model = "{llm.model}"\ntier = "small"\ntokenizer = "{llm.tokenizer}"\ncontext_size = {llm.context_size}\n\n'
        '[notes]\nonly = ["summary"]\n', encoding="utf-8")
    out = tmp_path / "out"
    command = [sys.executable, "-m", "notebooklm_clone", "--config", str(config), "batch", str(root), "-o", str(out),
               "--products", "notes", "--jobs", "1", "-q"]
    process = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    at_kill = None
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and process.poll() is None:
        data = json.loads((out / "batch.json").read_text(encoding="utf-8")) if (out / "batch.json").exists() else None
        if data and any(e["state"] == "done" for e in data["documents"].values()):
            os.kill(process.pid, signal.SIGKILL)
            break
        time.sleep(0.05)
    process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL, process.stderr.read().decode()
    at_kill = manifest_of(out)["documents"]
    [finished] = [rel for rel, e in at_kill.items() if e["state"] == "done"]
    [other] = [rel for rel in at_kill if rel != finished]
    assert at_kill[finished]["usage"]["calls"] >= 1 and at_kill[finished]["files"]["summary"].endswith("summary.md")

    rerun = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr
    final = manifest_of(out)["documents"]
    assert final[finished] == at_kill[finished]  # same attempts, finished_at and LLM usage: not redone
    assert final[other]["state"] == "done" and final[other]["usage"]["calls"] + final[other]["usage"]["cache_hits"] >= 1
    assert final[other]["attempts"] == at_kill[other]["attempts"] + 1
    assert (out / final[other]["files"]["summary"]).read_text(encoding="utf-8").startswith("# ")

    # Every answer of both documents is in the LLM response cache, and the settings (endpoint, model, cache_dir)
    # travel with Ray tasks as plain data: a fresh OUT rebuilt on a local Ray instance makes no LLM call at all and
    # writes the same study files.
    pytest.importorskip("ray", reason="the ray extra is not installed")
    fresh = Batch(root, tmp_path / "fresh", llm_settings.with_overrides(**{"notes.only": ["summary"]}),
                  products=["notes"], executor="ray").run()
    for entry in fresh.documents.values():
        before = final[entry.path]["usage"]
        assert entry.state == "done" and entry.usage["calls"] == 0
        assert entry.usage["cache_hits"] == before["calls"] - before["repairs"] + before["cache_hits"]
        assert (tmp_path / "fresh" / entry.files["summary"]).read_bytes() == (out / entry.files["summary"]).read_bytes()


def test_a_worker_killed_under_a_document_is_replaced_and_the_document_retried(tmp_path):
    """Kill -9 the worker process (as the OOM killer would) while it holds a document: the pool is rebuilt, the
    document runs again and the batch finishes; nothing else is redone."""
    import threading

    root = tmp_path / "in"
    for name in ("doc0", "doc1", "doc2"):
        make_pdf(root / f"{name}.pdf", name, pages=60)
    out = tmp_path / "out"
    killed: list[int] = []

    def kill_first_worker():
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not killed:
            for pid in children_of(os.getpid()):
                try:
                    cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
                except OSError:
                    continue
                if b"spawn_main" in cmdline:
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)
                    return
            time.sleep(0.01)

    killer = threading.Thread(target=kill_first_worker)
    killer.start()
    manifest = Batch(root, out, Settings(cache_dir=str(tmp_path / "cache")), products=["extract"], jobs=1).run()
    killer.join()
    assert killed, "no worker process was seen"
    assert manifest.counts()["done"] == 3
    assert sorted(e.attempts for e in manifest.documents.values()) == [1, 1, 2]
    assert manifest.documents["doc0.pdf"].attempts == 2  # the first document was in the killed worker
