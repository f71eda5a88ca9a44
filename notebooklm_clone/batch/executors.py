"""Where a batch's documents run: local worker processes or Ray tasks. Both run the same plain-data task (`work`,
by default `task.run_document_task`) and report back to the driver (`runner.Batch`), which alone writes the manifest.

Both keep at most `jobs` documents in flight and hand out the next one as soon as one finishes, so a document is
marked `running` exactly when a worker takes it.
"""

from __future__ import annotations

import collections
import contextlib
import multiprocessing
import multiprocessing.connection
import os
import signal
import threading
import time
from typing import Any, Callable, Iterator, Protocol

from ..config import Settings
from ..errors import BackendUnavailable, UsageError, one_line_error
from ..llm.embedded import embedded_settings
from ..procs import die_with_parent, sharing_cores, usable_cores
from .task import run_document_task

LLM_PRODUCTS = ("notes", "script", "podcast")
# A document whose worker process died this many times (segfault, out of memory) is recorded as failed.
MAX_WORKER_DEATHS = 2

# What runs one task: a module-level function (it is sent to worker processes and Ray nodes by reference).
Work = Callable[..., dict[str, Any]]


class Driver(Protocol):
    """What an executor reports to (implemented by batch.Batch)."""

    def started(self, path: str) -> None: ...
    def progress(self, path: str, event: dict[str, Any]) -> None: ...
    def finished(self, path: str, outcome: dict[str, Any]) -> None: ...
    def requeue(self, path: str) -> None: ...


def make_executor(kind: str, jobs: int, address: str | None = None, time_limit: float | None = None,
                  work: Work = run_document_task):
    """`time_limit`: seconds a document may run before it is stopped and reported failed (None: no limit).
    `work(task, progress=...)` runs one task and returns its outcome without raising."""
    if time_limit is not None and time_limit <= 0:
        raise UsageError("the time limit must be a positive number of seconds")
    if kind == "local":
        return LocalExecutor(jobs or 1, time_limit, work)
    if kind == "ray":
        return RayExecutor(jobs, address, time_limit, work)
    raise UsageError(f"unknown executor '{kind}' (local or ray)")


@contextlib.contextmanager
def shared_llm(settings: Settings, products: list[str], executor: str, address: str | None = None) -> Iterator[Settings]:
    """One LLM endpoint for the whole batch. With the embedded default, start the llama.cpp server once here and give
    the workers its URL (in settings) instead of every job loading its own copy of the model."""
    from ..llm.endpoints import (
        endpoint_of,  # the openai client loads when a batch runs, not on every CLI start
    )

    if not any(p in products for p in LLM_PRODUCTS) or endpoint_of(settings)[0] != "embedded":
        yield settings
        return
    if executor == "ray" and address and not _is_this_machine(address):
        raise UsageError("the embedded LLM server listens on 127.0.0.1 of this machine, which Ray workers on other "
                         "nodes cannot reach: set llm.base_url (or OPENAI_BASE_URL) to an endpoint they can reach "
                         "(see docs/batch.md)")
    with embedded_settings(settings) as served:
        yield served


def _is_this_machine(address: str) -> bool:
    host = address.split("://", 1)[-1].rsplit(":", 1)[0].strip("[]")
    return host in ("127.0.0.1", "localhost", "::1", os.uname().nodename, "auto")


# ---------------------------------------------------------------------------------------------------------------
# local processes


def _worker_main(conn, parent_pid: int, cores: int | None, work: Work) -> None:
    """A worker process: documents one after another, each received as a task and answered with its outcome, with
    progress on the same connection. It dies with the driver (even on kill -9), ignores Ctrl-C (the driver stops it),
    leads a process group of its own (so stopping it stops the OCR, TTS or ffmpeg processes it started), and, when
    several documents run at once, uses only its share of the cores."""
    die_with_parent(parent_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with contextlib.suppress(OSError):
        os.setpgid(0, 0)
    lock = threading.Lock()  # progress may come from the pipeline's threads

    def progress(event: dict[str, Any]) -> None:
        with contextlib.suppress(Exception), lock:
            conn.send(("progress", event))

    with sharing_cores(cores) if cores else contextlib.nullcontext():
        while (task := conn.recv()) is not None:
            outcome = work(task, progress=progress)
            with lock:
                conn.send(("done", outcome))


class _Worker:
    """One worker process of the local pool, and the document it holds (None when idle)."""

    def __init__(self, ctx, cores: int | None, work: Work):
        self.conn, child_end = ctx.Pipe()
        # not daemonic: a worker starts speech synthesis processes of its own (it dies with us all the same)
        self.process = ctx.Process(target=_worker_main, args=(child_end, os.getpid(), cores, work),
                                   name="notebooklm-clone-worker")
        self.process.start()
        child_end.close()  # only the worker holds that end now, so its death reads as EOF here
        self.task: dict[str, Any] | None = None
        self.started = 0.0

    def take(self, task: dict[str, Any]) -> None:
        self.conn.send(task)
        self.task, self.started = task, time.monotonic()

    def how_it_died(self) -> str:
        self.process.join(timeout=5)
        code = self.process.exitcode
        if code is not None and code < 0:
            with contextlib.suppress(ValueError):
                return f"killed by {signal.Signals(-code).name}"
        return f"exit code {code}"

    def stop(self) -> None:
        """Kill it and what it started, at once: whatever it was doing is redone or reported by the caller."""
        with contextlib.suppress(Exception):  # only while it runs: a reaped worker's pid may belong to another
            if self.process.exitcode is None and os.getpgid(self.process.pid) == self.process.pid:
                os.killpg(self.process.pid, signal.SIGKILL)
        with contextlib.suppress(Exception):
            self.process.kill()
        self.process.join(timeout=5)
        self.conn.close()


class LocalExecutor:
    """Documents in parallel in `jobs` spawned worker processes (not forked: the driver may hold threads and a
    server), each reused for the next document.

    Every worker holds one known document, so a worker that dies (segfault, out of memory, kill -9) costs only that
    document another try, and a document over `time_limit` seconds is stopped by killing only its worker; the
    documents in the other workers go on undisturbed.
    """

    def __init__(self, jobs: int, time_limit: float | None = None, work: Work = run_document_task):
        self.jobs = max(1, jobs)
        self.time_limit = time_limit
        self.work = work

    def run(self, tasks: list[dict[str, Any]], driver: Driver) -> None:
        ctx = multiprocessing.get_context("spawn")
        cores = max(1, usable_cores() // self.jobs) if self.jobs > 1 else None
        pending = collections.deque(tasks)
        deaths: collections.Counter[str] = collections.Counter()
        workers: list[_Worker] = []
        try:
            while pending or any(w.task for w in workers):
                for worker in workers:
                    if pending and worker.task is None:
                        self._hand_out(worker, pending, driver)
                while pending and len(workers) < self.jobs:
                    workers.append(worker := _Worker(ctx, cores, self.work))
                    self._hand_out(worker, pending, driver)
                ready = multiprocessing.connection.wait([w.conn for w in workers], timeout=self._wait_time(workers))
                for worker in [w for w in workers if w.conn in ready]:
                    if not self._receive(worker, driver):
                        workers.remove(worker)
                        self._died(worker, pending, deaths, driver)
                for worker in self._overdue(workers):
                    workers.remove(worker)
                    worker.stop()
                    driver.finished(worker.task["path"], {"error": f"timed out after {self.time_limit:g} s",
                                                          "seconds": round(time.monotonic() - worker.started, 3)})
            for worker in workers:
                with contextlib.suppress(OSError):
                    worker.conn.send(None)  # done: exit after this
            for worker in workers:
                worker.process.join(timeout=10)
        finally:
            for worker in workers:
                worker.stop()

    @staticmethod
    def _hand_out(worker: _Worker, pending: collections.deque, driver: Driver) -> None:
        task = pending.popleft()
        driver.started(task["path"])
        try:
            worker.take(task)
        except OSError:  # the idle worker is gone: the next round starts another and hands the task to it
            pending.appendleft(task)
            driver.requeue(task["path"])

    @staticmethod
    def _receive(worker: _Worker, driver: Driver) -> bool:
        """Read what the worker said (progress, or its document's outcome); False when the worker is dead."""
        try:
            while worker.conn.poll():
                kind, payload = worker.conn.recv()
                if kind == "progress" and worker.task is not None:
                    driver.progress(worker.task["path"], payload)
                elif kind == "done" and worker.task is not None:
                    task, worker.task = worker.task, None
                    driver.finished(task["path"], payload)
        except (EOFError, OSError):
            return False
        return True

    @staticmethod
    def _died(worker: _Worker, pending: collections.deque, deaths: collections.Counter, driver: Driver) -> None:
        how = worker.how_it_died()
        worker.stop()
        task = worker.task
        if task is None:  # died idle: nothing lost, the next round starts another
            return
        deaths[task["path"]] += 1
        if deaths[task["path"]] >= MAX_WORKER_DEATHS:
            driver.finished(task["path"], {"error": f"worker process died while processing this document ({how})",
                                           "seconds": round(time.monotonic() - worker.started, 3)})
        else:
            driver.requeue(task["path"])
            pending.appendleft(task)

    def _wait_time(self, workers: list[_Worker]) -> float | None:
        if self.time_limit is None:
            return None
        busy = [w.started for w in workers if w.task is not None]
        return max(0.0, min(busy) + self.time_limit - time.monotonic()) if busy else None

    def _overdue(self, workers: list[_Worker]) -> list[_Worker]:
        if self.time_limit is None:
            return []
        now = time.monotonic()
        return [w for w in workers if w.task is not None and now - w.started >= self.time_limit]


# ---------------------------------------------------------------------------------------------------------------
# Ray


RAY_TASK_CPUS = 1  # Ray runs as many tasks on a node as it has CPUs


def _progress_to(events, path: str):
    def progress(event: dict[str, Any]) -> None:
        with contextlib.suppress(Exception):
            events.put_nowait((path, event))

    return progress


def _ray_work(task: dict[str, Any], events, work: Work = run_document_task) -> dict[str, Any]:
    """The Ray task: the same unit of work as a local job; progress goes back through a Ray queue. The node already
    runs one task per CPU, so this one keeps to its own CPU (speech synthesis inline, one thread)."""
    with sharing_cores(RAY_TASK_CPUS):
        return work(task, progress=_progress_to(events, task["path"]))


class RayExecutor:
    """Documents as Ray tasks on a cluster (`address`), or on a local Ray instance when there is none.

    Settings travel with each task as plain data; inputs and outputs are read and written on the shared filesystem
    at the same absolute paths (see docs/batch.md). Only the driver writes the manifest. A task over `time_limit`
    seconds is cancelled (its worker process killed) and its document reported failed.
    """

    def __init__(self, jobs: int | None, address: str | None = None, time_limit: float | None = None,
                 work: Work = run_document_task):
        self.jobs = jobs
        self.address = address
        self.time_limit = time_limit
        self.work = work

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
            remote = ray.remote(num_cpus=RAY_TASK_CPUS, max_retries=1)(_ray_work)
            pending = collections.deque(tasks)
            in_flight: dict[Any, tuple[dict[str, Any], float]] = {}
            while pending or in_flight:
                while pending and len(in_flight) < jobs:
                    task = pending.popleft()
                    driver.started(task["path"])
                    in_flight[remote.remote(task, events, self.work)] = (task, time.monotonic())
                ready, _ = ray.wait(list(in_flight), num_returns=1, timeout=self._wait_time(in_flight))
                for ref in ready:
                    task, _ = in_flight.pop(ref)
                    try:
                        outcome = ray.get(ref)
                    except Exception as exc:  # noqa: BLE001 - the worker or node died; Ray already retried once
                        outcome = {"error": one_line_error(exc)}
                    driver.finished(task["path"], outcome)
                for ref in self._overdue(in_flight):
                    task, started = in_flight.pop(ref)
                    ray.cancel(ref, force=True)  # kills the worker process running it; a cancelled task is not retried
                    driver.finished(task["path"], {"error": f"timed out after {self.time_limit:g} s",
                                                   "seconds": round(time.monotonic() - started, 3)})
            stop.set()
            forwarder.join(timeout=5)
        finally:
            if started_here:
                ray.shutdown()

    def _wait_time(self, in_flight: dict[Any, tuple[dict[str, Any], float]]) -> float | None:
        if self.time_limit is None or not in_flight:
            return None
        return max(0.0, min(started for _, started in in_flight.values()) + self.time_limit - time.monotonic())

    def _overdue(self, in_flight: dict[Any, tuple[dict[str, Any], float]]) -> list[Any]:
        if self.time_limit is None:
            return []
        now = time.monotonic()
        return [ref for ref, (_, started) in in_flight.items() if now - started >= self.time_limit]

    @staticmethod
    def _forward(events, driver: Driver, stop: threading.Event) -> None:
        from ray.util.queue import Empty

        while not stop.is_set():
            try:
                driver.progress(*events.get(timeout=0.5))
            except Empty:
                continue
            except Exception:  # noqa: BLE001 - the queue actor is gone at shutdown
                return
