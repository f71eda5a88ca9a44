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
from pdfs import TOPICS, make_pdf

from notebooklm_clone.batch import Batch, discover, settings_fingerprint
from notebooklm_clone.cli import main
from notebooklm_clone.config import Settings


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


def recorded_so_far(out: Path) -> dict | None:
    """What a batch has recorded in OUT so far (batch.json and the journal of the run in progress), as JSON data."""
    from notebooklm_clone.batch import load_manifest

    manifest = load_manifest(out)
    return manifest.model_dump(mode="json") if manifest else None


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
        data = recorded_so_far(out)
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
    at_kill = recorded_so_far(out)["documents"]
    finished = {rel for rel, e in at_kill.items() if e["state"] == "done"}
    assert 1 <= len(finished) < len(names)
    assert {rel for rel, e in killed_with["documents"].items() if e["state"] == "done"} <= finished
    with open(out / ".batch.journal", "ab") as journal:  # a record cut short by the kill is ignored, not fatal
        journal.write(b'{"at": "2030-01-01", "entry": {"path": "doc0')
    assert recorded_so_far(out)["documents"] == at_kill
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
    from notebooklm_clone.llm.prompts import BUILT_IN_PROMPTS as REPO_PROMPTS

    prompts = tmp_path / "prompts"  # the user's own copies of two templates
    prompts.mkdir()
    for name in ("map.j2", "segment.j2"):
        shutil.copy(REPO_PROMPTS / name, prompts / name)
    out = tmp_path / "out"
    command = [sys.executable, "-m", "notebooklm_clone", "--config", str(config), "batch", str(root), "-o", str(out),
               "--products", "notes", "--jobs", "1", "-q", "--prompts", str(prompts)]
    process = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    at_kill = None
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and process.poll() is None:
        data = recorded_so_far(out)
        if data and any(e["state"] == "done" for e in data["documents"].values()):
            os.kill(process.pid, signal.SIGKILL)
            break
        time.sleep(0.05)
    process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL, process.stderr.read().decode()
    at_kill = recorded_so_far(out)["documents"]
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

    # An edit to a template only the script uses redoes nothing; an edit to one the notes use redoes both documents
    # (a comment: the rendered prompts stay the same, so every answer comes from the LLM response cache).
    with open(prompts / "segment.j2", "a", encoding="utf-8") as handle:
        handle.write("\n{# shorter turns #}\n")
    assert subprocess.run(command, cwd=tmp_path, capture_output=True, timeout=600).returncode == 0
    assert manifest_of(out)["documents"] == final
    with open(prompts / "map.j2", "a", encoding="utf-8") as handle:
        handle.write("\n{# more facts #}\n")
    redo = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert redo.returncode == 0, redo.stderr
    for rel, entry in manifest_of(out)["documents"].items():
        assert entry["state"] == "done" and entry["attempts"] == final[rel]["attempts"] + 1
        assert entry["usage"]["calls"] == 0, entry["usage"]

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


# ---------------------------------------------------------------------------------------------------------------
# file names, prompts, persistence, symlinks, output layout, the index, empty outcomes, suffixes, time limits


def cli_command(root: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "notebooklm_clone", "batch", str(root), "-o", str(out), *extra]


def cli_env(tmp_path: Path) -> dict[str, str]:
    """A UTF-8 locale, as on most desktops (stdout then refuses what is not UTF-8)."""
    return {**os.environ, "NOTEBOOKLM_CLONE_CACHE": str(tmp_path / "cache"), "LC_ALL": "C.UTF-8",
            "PYTHONIOENCODING": ""}


def make_undecodable(folder: Path, text: str) -> str:
    """A real file named b'caf\\xe9.txt' (Latin-1, not valid UTF-8); returns its name as Python sees it."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(os.fsencode(folder) + b"/caf\xe9.txt", "wb") as handle:
        handle.write(text.encode("utf-8"))
    return os.fsdecode(b"caf\xe9.txt")


def test_a_file_name_that_is_not_utf8_is_processed_in_batch(tmp_path):
    root = tmp_path / "in"
    make_pdf(root / "alpha.pdf", "alpha")
    name = make_undecodable(root, "Coffee is brewed from roasted and ground coffee beans.\n")
    out = tmp_path / "out"
    first = subprocess.run(cli_command(root, out, "--products", "extract"), env=cli_env(tmp_path),
                           capture_output=True, timeout=120)
    assert first.returncode == 0, first.stderr.decode(errors="replace")
    assert "caf%E9.txt" in first.stdout.decode("utf-8")  # the summary table spells the byte it cannot print
    data = json.loads((out / "batch.json").read_bytes().decode("utf-8"))  # strict: the manifest is valid UTF-8
    entry = data["documents"][name]  # the key is the name as the file system has it: it finds the file again
    assert entry["state"] == "done" and entry["out_dir"] == "caf%E9"
    assert entry["files"]["extract"] == "caf%E9/document.json"
    assert "roasted and ground" in (out / "caf%E9" / "document.json").read_bytes().decode("utf-8")
    html = (out / "index.html").read_bytes().decode("utf-8")
    assert 'href="caf%25E9/document.json"' in html and "caf%E9.txt" in html

    again = subprocess.run(cli_command(root, out, "--products", "extract", "--json"), env=cli_env(tmp_path),
                           capture_output=True, timeout=120)
    assert again.returncode == 0, again.stderr.decode(errors="replace")
    summary = json.loads(again.stdout.decode("utf-8"))
    assert {d["path"]: (d["state"], d["attempts"]) for d in summary["documents"]} == {
        "alpha.pdf": ("done", 1), name: ("done", 1)}


@pytest.mark.llm
def test_a_file_name_that_is_not_utf8_works_in_single_file_mode(tmp_path, llm_settings):
    folder = tmp_path / "in"
    make_undecodable(folder, "Espresso is made by forcing hot water through finely ground coffee. "
                             "A shot takes about 25 seconds.\n")
    llm = llm_settings.llm
    config = tmp_path / "single.toml"
    config.write_text(
        f'cache_dir = "{llm_settings.cache_dir}"\n\n[llm]\nbase_url = "{llm.base_url}"\napi_key = "embedded"\n'
        f'model = "{llm.model}"\ntier = "small"\ntokenizer = "{llm.tokenizer}"\ncontext_size = {llm.context_size}\n',
        encoding="utf-8")
    out = tmp_path / "out"
    run = subprocess.run([sys.executable, "-m", "notebooklm_clone", "--config", str(config), "notes",
                          os.fsencode(folder) + b"/caf\xe9.txt", "--only", "summary", "-o", str(out)],
                         env=cli_env(tmp_path), capture_output=True, timeout=600)
    assert run.returncode == 0, run.stderr.decode(errors="replace")
    assert [p.name for p in out.iterdir()] == ["caf%E9"]  # the folder name spells the byte, as batch does
    summary = (out / "caf%E9" / "summary.md").read_bytes().decode("utf-8")  # strict: valid UTF-8
    assert summary.startswith("# ")
    report = json.loads((out / "caf%E9" / "report.json").read_bytes().decode("utf-8"))
    assert report["source"].endswith(os.fsdecode(b"/caf\xe9.txt"))


def test_prompt_template_edits_change_the_fingerprint_of_the_products_they_shape(tmp_path):
    from notebooklm_clone.llm.prompts import BUILT_IN_PROMPTS as REPO_PROMPTS

    prompts = tmp_path / "prompts"
    prompts.mkdir()
    for name in ("map.j2", "segment.j2"):
        shutil.copy(REPO_PROMPTS / name, prompts / name)
    settings = Settings(prompts_dir=str(prompts))
    products = ("extract", "notes", "script", "podcast")

    def prints():
        return {p: settings_fingerprint(settings, normalize(p)) for p in products}

    from notebooklm_clone.batch import normalize_products as normalize

    before = prints()
    # The same templates in another folder shape the same outputs.
    shutil.copytree(prompts, tmp_path / "elsewhere")
    assert {p: settings_fingerprint(Settings(prompts_dir=str(tmp_path / "elsewhere")), normalize(p))
            for p in products} == before
    with open(prompts / "segment.j2", "a", encoding="utf-8") as handle:  # a script-only template
        handle.write("\n{# shorter turns #}\n")
    after_segment = prints()
    assert after_segment["extract"] == before["extract"] and after_segment["notes"] == before["notes"]
    assert after_segment["script"] != before["script"] and after_segment["podcast"] != before["podcast"]
    with open(prompts / "map.j2", "a", encoding="utf-8") as handle:  # shapes every LLM product
        handle.write("\n{# more facts #}\n")
    after_map = prints()
    assert after_map["extract"] == before["extract"]
    assert all(after_map[p] != after_segment[p] for p in ("notes", "script", "podcast"))


class RecordingReporter:
    """Stands in for the progress printer and notes, at every finished document, what is on disk in OUT."""

    def __init__(self, out: Path):
        self.out = out
        self.seen: list[tuple[tuple[int, int], int]] = []

    def begin(self, *args, **kwargs): pass
    def started(self, path): pass
    def progress(self, path, event): pass
    def end(self, manifest): pass

    def finished(self, path, entry):
        stat = (self.out / "batch.json").stat()
        journal = self.out / ".batch.journal"
        self.seen.append(((stat.st_ino, stat.st_mtime_ns), journal.stat().st_size if journal.exists() else 0))


def test_a_state_change_appends_to_a_journal_instead_of_rewriting_the_manifest(tmp_path):
    from notebooklm_clone.batch import load_manifest

    root = tmp_path / "in"
    root.mkdir()
    for i in range(6):
        (root / f"doc{i}.md").write_text(f"# Document {i}\n\nText number {i}.\n", encoding="utf-8")
    out = tmp_path / "out"
    reporter = RecordingReporter(out)
    manifest = Batch(root, out, Settings(cache_dir=str(tmp_path / "cache")), products=["extract"],
                     reporter=reporter).run()
    assert manifest.counts()["done"] == 6 and len(reporter.seen) == 6
    assert len({manifest_file for manifest_file, _ in reporter.seen}) == 1, "batch.json was rewritten mid-run"
    journal_sizes = [size for _, size in reporter.seen]
    assert journal_sizes == sorted(journal_sizes) and journal_sizes[0] > 0 and len(set(journal_sizes)) == 6
    # At the end the readable summary holds everything and the journal is gone.
    assert not (out / ".batch.journal").exists()
    assert {rel: e["state"] for rel, e in manifest_of(out)["documents"].items()} == {
        f"doc{i}.md": "done" for i in range(6)}
    assert load_manifest(out).documents == manifest.documents


def test_a_rerun_hashes_only_files_whose_size_or_mtime_changed(tmp_path, monkeypatch):
    import notebooklm_clone.batch.runner as batch_module

    hashed: list[str] = []
    real = batch_module.sha256_file

    def counting_sha256_file(path, *args, **kwargs):
        hashed.append(Path(path).name)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(batch_module, "sha256_file", counting_sha256_file)
    root = tmp_path / "in"
    root.mkdir()
    for name in ("a", "b", "c"):
        (root / f"{name}.md").write_text(f"# {name}\n\nThe text of {name}.\n", encoding="utf-8")
    out = tmp_path / "out"
    settings = Settings(cache_dir=str(tmp_path / "cache"))
    Batch(root, out, settings, products=["extract"]).run()
    assert sorted(hashed) == ["a.md", "b.md", "c.md"]

    hashed.clear()
    rerun = Batch(root, out, settings, products=["extract"]).run()
    assert hashed == [] and {e.attempts for e in rerun.documents.values()} == {1}

    stat = (root / "b.md").stat()  # touched: same bytes, new mtime -> hashed again, but not redone
    os.utime(root / "b.md", ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))
    (root / "c.md").write_text("# c\n\nThe text of C.\n", encoding="utf-8")  # same size, new bytes and mtime
    os.utime(root / "c.md", ns=(stat.st_atime_ns, stat.st_mtime_ns + 9_000_000_000))
    hashed.clear()
    third = Batch(root, out, settings, products=["extract"]).run()
    assert sorted(hashed) == ["b.md", "c.md"]
    assert {rel: e.attempts for rel, e in third.documents.items()} == {"a.md": 1, "b.md": 1, "c.md": 2}
    hashed.clear()
    Batch(root, out, settings, products=["extract"]).run()
    assert hashed == []


def test_symlinks_are_skipped_with_a_note_unless_followed(tmp_path):
    secret = tmp_path / "private" / "credentials"
    secret.parent.mkdir()
    secret.write_text("aws_secret_access_key = SECRET-KEY-42\n", encoding="utf-8")
    elsewhere = tmp_path / "elsewhere"
    make_pdf(elsewhere / "far.pdf", "gamma")
    root = tmp_path / "in"
    make_pdf(root / "alpha.pdf", "alpha")
    (root / "notes.txt").symlink_to(secret)
    (root / "linked").symlink_to(elsewhere, target_is_directory=True)
    (root / "loop").symlink_to(root, target_is_directory=True)
    out = tmp_path / "out"
    settings = Settings(cache_dir=str(tmp_path / "cache"))
    manifest = Batch(root, out, settings, products=["extract"]).run()
    states = {rel: (e.state, e.note) for rel, e in manifest.documents.items()}
    assert states["alpha.pdf"] == ("done", None)
    assert states["notes.txt"][0] == "skipped" and "symbolic link" in states["notes.txt"][1]
    assert states["linked/"][0] == "skipped" and "symbolic link" in states["linked/"][1]
    assert states["loop/"][0] == "skipped"
    assert len(states) == 4
    assert not any(b"SECRET-KEY-42" in p.read_bytes() for p in out.rglob("*") if p.is_file())

    result = run_cli("batch", str(root), "-o", str(tmp_path / "followed"), "--products", "extract",
                     "--follow-symlinks", "--json")
    assert result.exit_code == 0, result.output
    followed = {d["path"]: d["state"] for d in json.loads(result.stdout)["documents"]}
    assert followed == {"alpha.pdf": "done", "notes.txt": "done", "linked/far.pdf": "done", "loop/": "skipped"}


def test_earlier_output_folders_inside_the_input_are_not_ingested(tmp_path):
    root = tmp_path / "in"
    make_pdf(root / "alpha.pdf", "alpha")
    settings = Settings(cache_dir=str(tmp_path / "cache"))
    Batch(root, root / "results1", settings, products=["extract"]).run()
    (root / "results1" / "alpha" / "summary.md").write_text("# Summary\n\nFrom an earlier run.\n", encoding="utf-8")
    manifest = Batch(root, root / "results2", settings, products=["extract"]).run()
    assert {rel: e.state for rel, e in manifest.documents.items()} == {"alpha.pdf": "done", "results1/": "skipped"}
    assert "output folder" in manifest.documents["results1/"].note


def test_documents_named_like_the_index_or_the_manifest_get_their_own_folders(tmp_path):
    root = tmp_path / "in"
    root.mkdir()
    (root / "index.html.md").write_text("# Index of things\n\nA list.\n", encoding="utf-8")
    (root / "batch.json.txt").write_text("A text about batches of bread.\n", encoding="utf-8")
    out = tmp_path / "out"
    manifest = Batch(root, out, Settings(cache_dir=str(tmp_path / "cache")), products=["extract"]).run()
    assert manifest.counts()["done"] == 2
    assert (out / "index.html").is_file() and (out / "batch.json").is_file()
    out_dirs = {e.out_dir for e in manifest.documents.values()}
    assert len(out_dirs) == 2 and not out_dirs & {"index.html", "batch.json"}
    for entry in manifest.documents.values():
        assert json.loads((out / entry.files["extract"]).read_text(encoding="utf-8"))["source"].endswith(entry.path)


def test_no_two_documents_share_an_output_folder_across_runs(tmp_path):
    root = tmp_path / "in"
    root.mkdir()
    (root / "a.md").write_text("# A in Markdown\n\nFirst.\n", encoding="utf-8")
    (root / "a.pdf.md").write_text("# A PDF's notes\n\nSecond.\n", encoding="utf-8")
    out = tmp_path / "out"
    settings = Settings(cache_dir=str(tmp_path / "cache"))
    first = Batch(root, out, settings, products=["extract"]).run()
    assert {rel: e.out_dir for rel, e in first.documents.items()} == {"a.md": "a", "a.pdf.md": "a.pdf"}
    make_pdf(root / "a.pdf", "alpha")  # wants 'a' (taken), then 'a.pdf' (taken too)
    manifest = Batch(root, out, settings, products=["extract"]).run()
    out_dirs = [e.out_dir for e in manifest.documents.values()]
    assert len(set(out_dirs)) == 3, out_dirs
    assert manifest.documents["a.md"].out_dir == "a" and manifest.documents["a.pdf.md"].out_dir == "a.pdf"
    for entry in manifest.documents.values():
        assert entry.state == "done"
        assert json.loads((out / entry.files["extract"]).read_text(encoding="utf-8"))["source"].endswith(entry.path)


def test_leftover_temp_files_are_removed_only_where_the_batch_writes(tmp_path):
    out = tmp_path / "out"
    root = out / "papers"  # the input inside OUT
    make_pdf(root / "alpha.pdf", "alpha")
    settings = Settings(cache_dir=str(tmp_path / "cache"))
    Batch(root, out, settings, products=["extract"]).run()
    users = [root / ".draft.md.part", out / "downloads" / ".film.mkv.part", root / "alpha" / ".x.part"]
    for path in users:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"the user's own bytes")
    ours = [out / "alpha" / ".report.json.k2j4h6g8.part", out / ".batch.json.abcd1234.part"]
    for path in ours:  # left behind by a run killed mid-write
        path.write_bytes(b"{")
    Batch(root, out, settings, products=["extract"]).run()
    assert all(path.exists() for path in users)
    assert not any(path.exists() for path in ours)


def test_index_names_the_folder_as_given_and_links_only_current_outputs(tmp_path):
    from html.parser import HTMLParser

    class Links(HTMLParser):
        def __init__(self, html):
            super().__init__()
            self.rows: dict[str, list[str]] = {}
            self.row = None
            self.h1 = ""
            self._in_h1 = False
            self.feed(html)

        def handle_starttag(self, tag, attrs):
            attrs = dict(attrs)
            if tag == "tr" and "data-path" in attrs:
                self.row = self.rows.setdefault(attrs["data-path"], [])
            if tag == "a" and self.row is not None:
                self.row.append(attrs["href"])
            self._in_h1 = tag == "h1"

        def handle_data(self, data):
            if self._in_h1:
                self.h1 += data

    root = tmp_path / "papers"
    make_pdf(root / "alpha.pdf", "alpha")
    make_pdf(root / "beta.pdf", "beta")
    shutil.copy(root / "alpha.pdf", root / "copy.pdf")
    out = tmp_path / "out"
    command = [sys.executable, "-m", "notebooklm_clone", "batch", "papers", "-o", "out", "--products", "extract",
               "-q"]
    assert subprocess.run(command, env=cli_env(tmp_path), cwd=tmp_path, timeout=120).returncode == 0
    # Outputs of an earlier run with other products, and a document that is broken now.
    (out / "alpha" / "summary.md").write_text("# Alpha summary\n", encoding="utf-8")
    (root / "beta.pdf").write_bytes(b"%PDF-1.7\n" + b"\x00garbage" * 50)
    assert subprocess.run(command, env=cli_env(tmp_path), cwd=tmp_path, timeout=120).returncode == 5
    html = (out / "index.html").read_text(encoding="utf-8")
    assert str(tmp_path) not in html
    page = Links(html)
    assert page.h1.strip() == "papers"
    assert page.rows == {"alpha.pdf": ["alpha/document.json", "alpha/report.json"], "beta.pdf": [],
                         "copy.pdf": ["alpha/document.json", "alpha/report.json"]}
    assert manifest_of(out)["documents"]["beta.pdf"]["error"].startswith("beta.pdf ")


def test_an_outcome_without_outputs_is_recorded_failed_never_done(tmp_path):
    """The executor's report of a document whose run produced nothing (or an empty file): the driver records it
    failed, and the next run retries it."""
    from notebooklm_clone.pipeline import DocumentResult

    root = tmp_path / "in"
    root.mkdir()
    (root / "a.md").write_text("# A\n\nSome text.\n", encoding="utf-8")
    (root / "b.md").write_text("# B\n\nMore text.\n", encoding="utf-8")
    out = tmp_path / "out"
    settings = Settings(cache_dir=str(tmp_path / "cache"))
    batch = Batch(root, out, settings, products=["notes"])
    out.mkdir()
    batch.plan()
    (out / "b").mkdir()
    (out / "b" / "summary.md").write_bytes(b"")
    nothing = DocumentResult(source=str(root / "a.md"), out_dir=str(out / "a"), products=["notes"])
    empty = DocumentResult(source=str(root / "b.md"), out_dir=str(out / "b"), products=["notes"],
                           files={"summary": str(out / "b" / "summary.md")})
    for path, result in (("a.md", nothing), ("b.md", empty)):
        batch.started(path)
        batch.finished(path, {"result": result.model_dump(mode="json"), "title": path, "seconds": 0.1})
    documents = batch.manifest.documents
    assert documents["a.md"].state == "failed" and "no outputs" in documents["a.md"].error
    assert documents["b.md"].state == "failed" and "summary.md is empty" in documents["b.md"].error
    assert {e.path for e in batch.plan()} == {"a.md", "b.md"}


def test_every_suffix_extraction_reads_is_a_document(tmp_path):
    root = tmp_path / "in"
    root.mkdir()
    (root / "a.markdown").write_text("# Markdown long suffix\n\nText.\n", encoding="utf-8")
    (root / "b.text").write_text("Plain text with a long suffix.\n", encoding="utf-8")
    (root / "c.xhtml").write_text("<!doctype html><html><body><h1>XHTML</h1><p>Text.</p></body></html>\n",
                                  encoding="utf-8")
    assert discover(root) == (["a.markdown", "b.text", "c.xhtml"], [])
    manifest = Batch(root, tmp_path / "out", Settings(cache_dir=str(tmp_path / "cache")), products=["extract"]).run()
    assert {rel: e.state for rel, e in manifest.documents.items()} == {
        "a.markdown": "done", "b.text": "done", "c.xhtml": "done"}


def test_time_limit_option(tmp_path):
    root = tmp_path / "in"
    make_pdf(root / "alpha.pdf", "alpha")
    bad = run_cli("batch", str(root), "-o", str(tmp_path / "out"), "--products", "extract", "--time-limit", "-5")
    assert bad.exit_code == 2
    assert Batch(root, tmp_path / "out", Settings(), products=["extract"]).time_limit == 7200
    assert Batch(root, tmp_path / "out", Settings(), products=["extract"], time_limit=0).time_limit is None
    # No worker can even start within a millisecond: the limit reaches the executor and the document fails.
    over = run_cli("batch", str(root), "-o", str(tmp_path / "out"), "--products", "extract", "--time-limit", "0.001",
                   "--json")
    assert over.exit_code == 5, over.output
    [entry] = json.loads(over.stdout)["documents"]
    assert (entry["state"], entry["error"]) == ("failed", "timed out after 0.001 s")
    ok = run_cli("batch", str(root), "-o", str(tmp_path / "out"), "--products", "extract", "--time-limit", "0", "-q")
    assert ok.exit_code == 0, ok.output
    assert manifest_of(tmp_path / "out")["documents"]["alpha.pdf"]["attempts"] == 2


class FakeServer:
    """Stands in for the embedded llama.cpp server: records starts and stops, serves nothing."""

    alias, n_ctx, base_url = "qwen-fake", 4096, "http://127.0.0.1:9/v1"

    def __init__(self, events: list[str], model_path: Path):
        self.events, self.model_path = events, model_path

    def start(self):
        self.events.append("start")
        return self

    def stop(self, keep_log: bool = False):
        self.events.append("stop")


def test_a_batch_starts_the_embedded_server_once_and_points_the_workers_at_it(tmp_path, monkeypatch):
    from notebooklm_clone.batch import shared_llm
    from notebooklm_clone.errors import UsageError
    from notebooklm_clone.llm import embedded

    events: list[str] = []
    monkeypatch.setattr(embedded.EmbeddedServer, "for_tier",
                        classmethod(lambda cls, *args, **kwargs: FakeServer(events, tmp_path / "m.gguf")))
    for variable in ("OPENAI_BASE_URL", "OPENAI_API_KEY"):
        monkeypatch.delenv(variable, raising=False)
    settings = Settings(cache_dir=str(tmp_path / "cache"))
    with shared_llm(settings, ["extract"], "local") as plain:
        assert plain is settings and events == []  # no LLM product: no server
    with shared_llm(settings, ["notes"], "local") as served:
        assert (served.llm.base_url, served.llm.model, served.llm.api_key) == (FakeServer.base_url, "qwen-fake",
                                                                               "embedded")
        assert served.llm.tokenizer == f"gguf:{tmp_path / 'm.gguf'}" and served.llm.context_size == 4096
        with embedded.embedded_settings(settings) as inner:  # the same configuration reuses the running server
            assert inner.llm.base_url == served.llm.base_url
        assert events == ["start"]
    assert events == ["start", "stop"]
    with pytest.raises(UsageError, match="cannot reach"):
        with shared_llm(settings, ["notes"], "ray", "ray://head.example:10001"):
            pass
    endpoint = settings.with_overrides(**{"llm.base_url": "http://localhost:8000/v1"})
    with shared_llm(endpoint, ["notes"], "local") as given:
        assert given is endpoint and events == ["start", "stop"]


def count_and_run(task, progress=None):
    """A work function for the executor test: a module-level function, so it reaches the worker by reference."""
    from notebooklm_clone.batch import run_document_task

    outcome = run_document_task(task, progress)
    Path(task["out_dir"], "worked.txt").write_text("yes")
    return outcome


def test_executors_run_the_work_function_they_are_given(tmp_path):
    from notebooklm_clone.batch import make_executor

    root = tmp_path / "in"
    root.mkdir()
    (root / "a.md").write_text("# A\n\nShort.\n", encoding="utf-8")
    batch = Batch(root, tmp_path / "out", Settings(cache_dir=str(tmp_path / "cache")), products=["extract"])
    todo = batch.plan()
    make_executor("local", 1, work=count_and_run).run([batch.task_for(e, batch.settings) for e in todo], batch)
    assert batch.manifest.documents["a.md"].state == "done"
    assert (tmp_path / "out" / "a" / "worked.txt").read_text() == "yes"


def test_the_index_links_only_files_the_pipeline_writes():
    from notebooklm_clone.batch.index import INDEX_LINKS

    assert "chapters.txt" not in {name for _, name in INDEX_LINKS}
