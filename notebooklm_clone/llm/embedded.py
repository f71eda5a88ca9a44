"""The embedded offline LLM: the pinned GGUF (model_files.py) served by llama.cpp (serve.py).

`EmbeddedServer` runs `llama_cpp.server` (through `serve`) on a free 127.0.0.1 port and guarantees it never
outlives us; `embedded_settings` is how the product starts one (a single command, or a whole batch).

    python -m notebooklm_clone.llm.embedded assemble --tier small|default
    python -m notebooklm_clone.llm.embedded serve <llama_cpp.server options>
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

from ..config import default_cache_dir
from ..errors import BackendUnavailable, UsageError
from ..procs import die_with_parent, machine_cores
from .model_files import MODELS, Tier, ensure_model, model_spec
from .serve import serve

if TYPE_CHECKING:
    from ..config import Settings

DEFAULT_CONTEXT = 8192  # tokens; Qwen2.5 allows 32k but the KV cache would cost RAM the pipeline never needs


_LIVE: set[EmbeddedServer] = set()
_LIVE_LOCK = threading.Lock()


def _stop_all() -> None:
    for server in list(_LIVE):
        server.stop()


atexit.register(_stop_all)


def died(base_url: str | None) -> str | None:
    """Why the embedded server behind `base_url` stopped answering, when it was started by this process and has
    exited (a crash shows here as a connection error: the server's signal and log say more)."""
    for server in list(_LIVE):
        process = server.process
        if process is None or server.port is None or server.base_url != base_url:
            continue
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=5)  # a crashing server can take seconds to dump its core and be reaped
        if process.returncode is None:
            continue
        code = process.returncode
        how = f"was killed by signal {-code} ({signal.Signals(-code).name})" if code < 0 else f"exited with code {code}"
        if code in (-signal.SIGKILL, 137):
            how += ", perhaps by the kernel for lack of memory"
        return f"the embedded LLM server {how}: {_tail(server.log_path, 3)} (log: {server.log_path})"
    return None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _tail(path: Path, lines: int = 12) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return " | ".join(line.rstrip() for line in deque(handle, maxlen=lines) if line.strip())
    except OSError:
        return "(no log)"


def _remove_old_logs(log_dir: Path, max_age_s: float = 86400.0) -> None:
    """Logs of servers that failed (kept for the error message) or whose owner was killed, after a day."""
    for log in log_dir.glob("llama-server-*.log"):
        try:
            if time.time() - log.stat().st_mtime > max_age_s:
                log.unlink()
        except OSError:
            pass


class EmbeddedServer:
    """llama_cpp.server (through `serve`) on a free 127.0.0.1 port for the life of a `with` block.

    Prefix reuse: llama.cpp keeps the KV state of the previous prompt and only evaluates the new suffix, so prompts
    that put the chunk first and the instructions last pay the chunk once. `prompt_cache` (off by default) also keeps
    earlier prompt states in RAM, which only pays when a prompt returns to a prefix seen two or more requests back (the
    pipeline never does: bench-llm), and each kept state costs its KV bytes plus a logits copy of up to n_batch x
    n_vocab floats (~0.3 GB for Qwen); `serve` counts both against `prompt_cache_bytes`. The chat template comes from
    the GGUF.
    """

    def __init__(
        self,
        model_path: str | os.PathLike,
        *,
        alias: str | None = None,
        n_ctx: int = DEFAULT_CONTEXT,
        threads: int | None = None,
        generation: str = "auto",
        drafts: bool = True,
        prompt_cache: bool = False,
        prompt_cache_bytes: int = 1 << 30,
        startup_timeout: float = 180.0,
        log_dir: str | os.PathLike | None = None,
    ):
        self.model_path = Path(model_path)
        self.alias = alias or self.model_path.stem
        self.n_ctx = n_ctx
        # one server serves every document of a batch: the whole machine; each generation step runs on all of these
        # cores or on one (with prompt-lookup drafts), whichever is faster at the time (decoding.py)
        self.threads = threads or machine_cores()
        self.generation = generation
        self.drafts = drafts
        self.prompt_cache = prompt_cache
        self.prompt_cache_bytes = prompt_cache_bytes
        self.startup_timeout = startup_timeout
        self.log_dir = Path(log_dir) if log_dir else None
        self.port: int | None = None
        self.process: subprocess.Popen | None = None
        self.log_path: Path | None = None
        self._log_handle = None

    @classmethod
    def for_tier(cls, tier: Tier = "default", cache_dir: str | os.PathLike | None = None, **kwargs) -> "EmbeddedServer":
        """A server for the verified GGUF of `tier` (joined from the part packages if needed)."""
        spec = model_spec(tier)
        kwargs.setdefault("log_dir", Path(cache_dir or default_cache_dir()) / "logs")
        return cls(ensure_model(tier, cache_dir), alias=spec.alias, **kwargs)

    @property
    def base_url(self) -> str:
        """The OpenAI-compatible endpoint, e.g. http://127.0.0.1:41234/v1."""
        if self.port is None:
            raise BackendUnavailable("the embedded LLM server is not running")
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def command(self) -> list[str]:
        # interrupt_requests would also cut a streamed answer short whenever another request waits (concurrency > 1);
        # `serve` instead stops exactly the requests whose client has hung up.
        return [
            sys.executable, "-m", "notebooklm_clone.llm.embedded", "serve",
            "--model", str(self.model_path),
            "--model_alias", self.alias,
            "--host", "127.0.0.1",
            "--port", str(self.port),
            "--n_ctx", str(self.n_ctx),
            "--generation", self.generation,
            "--drafts", "on" if self.drafts else "off",
            "--n_threads", str(self.threads),
            "--n_threads_batch", str(self.threads),
            "--n_batch", "512",
            "--logits_all", "false",  # the server's default keeps n_ctx x n_vocab logits: 0.6 MB per context token
            "--cache", "true" if self.prompt_cache else "false",
            "--cache_size", str(self.prompt_cache_bytes),
            "--interrupt_requests", "false",
        ]  # fmt: skip

    def start(self) -> "EmbeddedServer":
        if self.process is not None:
            return self
        if not self.model_path.is_file():
            raise BackendUnavailable(f"embedded model file {self.model_path} does not exist")
        try:
            import llama_cpp.server  # noqa: F401
        except ImportError:
            raise BackendUnavailable(
                "the embedded LLM needs llama-cpp-python[server]: pip install 'llama-cpp-python[server]==0.3.36' "
                "(or pip install -e '.[embedded]'), or point llm.base_url / OPENAI_BASE_URL at an endpoint"
            ) from None
        log_dir = self.log_dir or Path(tempfile.gettempdir())
        log_dir.mkdir(parents=True, exist_ok=True)
        _remove_old_logs(log_dir)
        for attempt in range(2):  # a second try if another process took the free port before the server bound it
            self.port = free_port()
            self.log_path = log_dir / f"llama-server-{os.getpid()}-{self.port}.log"
            self._log_handle = open(self.log_path, "wb")
            self.process = subprocess.Popen(
                self.command(), stdin=subprocess.DEVNULL, stdout=self._log_handle, stderr=subprocess.STDOUT,
                preexec_fn=die_with_parent if sys.platform.startswith("linux") else None,
            )  # fmt: skip
            with _LIVE_LOCK:
                _LIVE.add(self)
            try:
                self._wait_ready()
                return self
            except BackendUnavailable as exc:
                self.stop(keep_log=True)
                if attempt or "address already in use" not in str(exc).lower():
                    raise
                self.log_path.unlink(missing_ok=True)
            except BaseException:
                self.stop(keep_log=True)
                raise
        return self  # pragma: no cover - the loop returns or raises

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        url = f"http://127.0.0.1:{self.port}/v1/models"
        direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never via an HTTP(S)_PROXY
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BackendUnavailable(
                    f"the embedded LLM server exited with code {self.process.returncode} while loading "
                    f"{self.model_path.name}: {_tail(self.log_path)} (log: {self.log_path})"
                )
            try:
                with direct.open(url, timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                pass
            time.sleep(0.2)
        raise BackendUnavailable(
            f"the embedded LLM server did not answer within {self.startup_timeout:.0f}s: {_tail(self.log_path)}"
        )

    def stop(self, keep_log: bool = False) -> None:
        """Terminate, then kill; idempotent. The log is removed after a clean run and kept after a failure."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=3)  # it ignores SIGTERM mid-generation; don't wait long before SIGKILL
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        with _LIVE_LOCK:
            _LIVE.discard(self)
        if self._log_handle is not None:
            self._log_handle.close()
            self._log_handle = None
            if not keep_log and self.log_path is not None:
                self.log_path.unlink(missing_ok=True)
        self.port = None

    def __enter__(self) -> "EmbeddedServer":
        return self.start()

    def __exit__(self, exc_type, exc, tb) -> None:
        self.stop(keep_log=exc_type is not None and not issubclass(exc_type, KeyboardInterrupt))


# One running server per configuration, shared by nested `with embedded_settings(...)` blocks in a process.
_SHARED: dict[tuple, list] = {}  # key -> [server, users]
_SHARED_LOCK = threading.RLock()


@contextlib.contextmanager
def embedded_settings(settings: "Settings") -> Iterator["Settings"]:
    """The one way to start the embedded LLM: run the llama.cpp server for `settings.llm` (tier, context_size,
    threads, prompt_cache, cache_dir) for the `with` block and yield a copy of `settings` that points at it.

    The yielded settings carry plain endpoint data, so they also travel to worker processes and Ray tasks:
    llm.base_url (http://127.0.0.1:<port>/v1), llm.api_key "embedded", llm.model (the tier's alias),
    llm.context_size (the server's n_ctx), and, unless set already, llm.tokenizer "gguf:<path of the GGUF>" and
    llm.structured_output "json_object_schema". The GGUF path itself is `ensure_model(tier, cache_dir)`.

    A block nested inside another one with the same configuration reuses that server instead of loading the model
    twice; the server stops when the outermost block exits (a failure inside keeps its log for the error message).
    The caller decides whether the embedded model is wanted at all (`llm.endpoints.endpoint_of`).
    """
    llm = settings.llm
    n_ctx = llm.context_size or DEFAULT_CONTEXT
    key = (llm.tier, str(settings.cache_dir), n_ctx, llm.threads, llm.generation, llm.drafts, llm.prompt_cache)
    with _SHARED_LOCK:  # held while starting, so two threads never start two servers for one configuration
        entry = _SHARED.get(key)
        if entry is None:
            server = EmbeddedServer.for_tier(llm.tier, settings.cache_dir, n_ctx=n_ctx, threads=llm.threads,
                                             generation=llm.generation, drafts=llm.drafts,
                                             prompt_cache=llm.prompt_cache)
            server.start()
            entry = _SHARED[key] = [server, 0]
        entry[1] += 1
    server, failed = entry[0], False
    try:
        yield settings.with_overrides(**{
            "llm.base_url": server.base_url, "llm.api_key": "embedded", "llm.model": server.alias,
            "llm.tokenizer": llm.tokenizer or f"gguf:{server.model_path}", "llm.context_size": server.n_ctx,
            "llm.structured_output": llm.structured_output or "json_object_schema",
        })
    except BaseException as exc:
        failed = not isinstance(exc, (KeyboardInterrupt, GeneratorExit))
        raise
    finally:
        with _SHARED_LOCK:
            entry[1] -= 1
            last = entry[1] == 0
            if last:
                _SHARED.pop(key, None)
        if last:
            server.stop(keep_log=failed)


# ---------------------------------------------------------------------------------------------------------------------
# python -m notebooklm_clone.llm.embedded assemble --tier small|default


def main(argv: list[str] | None = None) -> int:
    import argparse

    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["serve"]:  # everything after it belongs to llama_cpp.server
        return serve(argv[1:])

    parser = argparse.ArgumentParser(prog="python -m notebooklm_clone.llm.embedded", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    assemble = sub.add_parser("assemble", help="join and verify the GGUF of a tier into the cache dir")
    assemble.add_argument("--tier", choices=sorted(MODELS), default="default")
    assemble.add_argument("--cache-dir", default=None, help="default: NOTEBOOKLM_CLONE_CACHE or the user cache dir")
    args = parser.parse_args(argv)
    try:
        path = ensure_model(args.tier, args.cache_dir)
    except (BackendUnavailable, UsageError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    print(f"{args.tier}: {path} ({path.stat().st_size:,} bytes, sha256 verified)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
