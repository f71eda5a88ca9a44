"""Where a batch's documents run: local worker processes or Ray tasks. Both run the same plain-data task
(`batch.run_document_task`) and report back to the driver (`batch.Batch`), which alone writes the manifest.

Both keep at most `jobs` documents in flight and hand out the next one as soon as one finishes, so a document is
marked `running` exactly when a worker takes it.
"""

from __future__ import annotations

import collections
import contextlib
import multiprocessing
import os
import threading
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Iterator, Protocol

from .config import Settings
from .errors import BackendUnavailable, UsageError

LLM_PRODUCTS = ("notes", "script", "podcast")
# A document whose worker process died this many times (segfault, out of memory) is recorded as failed.
MAX_WORKER_DEATHS = 2


class Driver(Protocol):
    """What an executor reports to (implemented by batch.Batch)."""

    def started(self, path: str) -> None: ...
    def stage(self, path: str, stage: str) -> None: ...
    def finished(self, path: str, outcome: dict[str, Any]) -> None: ...
    def requeue(self, path: str) -> None: ...


def make_executor(kind: str, jobs: int, address: str | None = None):
    if kind == "local":
        return LocalExecutor(jobs)
    if kind == "ray":
        return RayExecutor(jobs, address)
    raise UsageError(f"unknown executor '{kind}' (local or ray)")


@contextlib.contextmanager
def shared_llm(settings: Settings, products: list[str], executor: str, address: str | None = None) -> Iterator[Settings]:
    """One LLM endpoint for the whole batch. With the embedded default, start the llama.cpp server once here and give
    the workers its URL (in settings) instead of every job loading its own copy of the model."""
    from .llm import endpoint_of

    if not any(p in products for p in LLM_PRODUCTS) or endpoint_of(settings)[0] != "embedded":
        yield settings
        return
    if executor == "ray" and address and not _is_this_machine(address):
        raise UsageError("the embedded LLM server listens on 127.0.0.1 of this machine, which Ray workers on other "
                         "nodes cannot reach: set llm.base_url (or OPENAI_BASE_URL) to an endpoint they can reach "
                         "(see docs/batch.md)")
    from .embedded import DEFAULT_CONTEXT, EmbeddedServer

    llm = settings.llm
    server = EmbeddedServer.for_tier(llm.tier, settings.cache_dir, n_ctx=llm.context_size or DEFAULT_CONTEXT,
                                     threads=llm.threads, prompt_cache=llm.prompt_cache)
    with server:
        yield settings.with_overrides(**{
            "llm.base_url": server.base_url, "llm.api_key": "embedded", "llm.model": server.alias,
            "llm.tokenizer": llm.tokenizer or f"gguf:{server.model_path}", "llm.context_size": server.n_ctx,
            "llm.structured_output": llm.structured_output or "json_object_schema",
        })


def _is_this_machine(address: str) -> bool:
    host = address.split("://", 1)[-1].rsplit(":", 1)[0].strip("[]")
    return host in ("127.0.0.1", "localhost", "::1", os.uname().nodename, "auto")


# ---------------------------------------------------------------------------------------------------------------
# local processes

_events = None  # the worker's end of the progress queue (set by _init_worker)


def _init_worker(events, parent_pid: int) -> None:
    """Runs in each worker: die with the driver (even on kill -9) so no orphan keeps writing, and keep the queue."""
    global _events
    _events = events
    with contextlib.suppress(Exception):
        import ctypes
        import signal

        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG
    if os.getppid() != parent_pid:  # the driver died before prctl took effect
        os._exit(1)


def _progress_to(events, path: str):
    def progress(stage: Any = "", *args: Any, **kwargs: Any) -> None:
        with contextlib.suppress(Exception):
            events.put_nowait((path, str(stage)))

    return progress


def _local_work(task: dict[str, Any]) -> dict[str, Any]:
    from .batch import run_document_task

    return run_document_task(task, progress=_progress_to(_events, task["path"]) if _events is not None else None)


def _forward_events(events, driver: Driver) -> None:
    while (item := events.get()) is not None:
        driver.stage(*item)


class LocalExecutor:
    """Documents in parallel in `jobs` spawned processes (not forked: the driver may hold threads and a server)."""

    def __init__(self, jobs: int):
        self.jobs = jobs

    def run(self, tasks: list[dict[str, Any]], driver: Driver) -> None:
        ctx = multiprocessing.get_context("spawn")
        events = ctx.Queue()
        forwarder = threading.Thread(target=_forward_events, args=(events, driver), daemon=True)
        forwarder.start()
        pending = collections.deque(tasks)
        deaths: collections.Counter[str] = collections.Counter()
        try:
            while pending:
                workers = min(self.jobs, len(pending))
                with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker,
                                         initargs=(events, os.getpid())) as pool:
                    self._drain(pool, pending, deaths, driver)
        finally:
            events.put(None)
            forwarder.join(timeout=5)

    def _drain(self, pool: ProcessPoolExecutor, pending: collections.deque, deaths: collections.Counter,
               driver: Driver) -> None:
        """Run until `pending` is empty, or until the pool breaks (a worker died): then requeue what it held."""
        in_flight: dict[Any, dict[str, Any]] = {}
        try:
            while pending or in_flight:
                while pending and len(in_flight) < self.jobs:
                    future = pool.submit(_local_work, pending[0])
                    in_flight[future] = task = pending.popleft()
                    driver.started(task["path"])
                done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                for future in done:
                    outcome = future.result()  # raises BrokenProcessPool if a worker died
                    driver.finished(in_flight.pop(future)["path"], outcome)
        except BrokenProcessPool:
            for task in in_flight.values():
                deaths[task["path"]] += 1
                if deaths[task["path"]] >= MAX_WORKER_DEATHS:
                    driver.finished(task["path"], {"error": "worker process died while processing this document"})
                else:
                    driver.requeue(task["path"])
                    pending.appendleft(task)
        except BaseException:
            for future in in_flight:
                future.cancel()
            raise


# ---------------------------------------------------------------------------------------------------------------
# Ray


def _ray_work(task: dict[str, Any], events) -> dict[str, Any]:
    """The Ray task: the same unit of work as a local job; progress goes back through a Ray queue."""
    from .batch import run_document_task

    return run_document_task(task, progress=_progress_to(events, task["path"]))


class RayExecutor:
    """Documents as Ray tasks on a cluster (`address`), or on a local Ray instance when there is none.

    Settings travel with each task as plain data; inputs and outputs are read and written on the shared filesystem
    at the same absolute paths (see docs/batch.md). Only the driver writes the manifest.
    """

    def __init__(self, jobs: int | None, address: str | None = None):
        self.jobs = jobs
        self.address = address

    def run(self, tasks: list[dict[str, Any]], driver: Driver) -> None:
        try:
            import ray
            from ray.util.queue import Queue
        except ImportError:
            raise UsageError("the ray executor needs Ray: pip install 'notebooklm-clone[ray]'") from None
        started_here = not ray.is_initialized()
        if started_here:
            try:
                if self.address:
                    ray.init(address=self.address, include_dashboard=False, log_to_driver=False)
                else:
                    ray.init(num_cpus=self.jobs or os.cpu_count(), include_dashboard=False, log_to_driver=False)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                raise BackendUnavailable(f"cannot reach the Ray cluster at {self.address or 'local'}: {exc}") from None
        events = None
        forwarder = None
        try:
            jobs = self.jobs or max(1, int(ray.cluster_resources().get("CPU", 1)))
            events = Queue(actor_options={"num_cpus": 0})
            stop = threading.Event()
            forwarder = threading.Thread(target=self._forward, args=(events, driver, stop), daemon=True)
            forwarder.start()
            remote = ray.remote(num_cpus=1, max_retries=1)(_ray_work)
            pending = collections.deque(tasks)
            in_flight: dict[Any, dict[str, Any]] = {}
            while pending or in_flight:
                while pending and len(in_flight) < jobs:
                    task = pending.popleft()
                    driver.started(task["path"])
                    in_flight[remote.remote(task, events)] = task
                ready, _ = ray.wait(list(in_flight), num_returns=1)
                for ref in ready:
                    task = in_flight.pop(ref)
                    try:
                        outcome = ray.get(ref)
                    except Exception as exc:  # noqa: BLE001 - the worker or node died; Ray already retried once
                        from .batch import one_line_error

                        outcome = {"error": one_line_error(exc)}
                    driver.finished(task["path"], outcome)
            stop.set()
            forwarder.join(timeout=5)
        finally:
            if started_here:
                ray.shutdown()

    @staticmethod
    def _forward(events, driver: Driver, stop: threading.Event) -> None:
        from ray.util.queue import Empty

        while not stop.is_set():
            try:
                driver.stage(*events.get(timeout=0.5))
            except Empty:
                continue
            except Exception:  # noqa: BLE001 - the queue actor is gone at shutdown
                return
