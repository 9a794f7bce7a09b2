"""Worker processes for parsing and recognition, so one hostile document cannot take the server down.

PDFium and the image decoders are native code: a crafted file can crash them (the process dies), hang them (no
Python timeout can interrupt a C loop) or make them allocate without end. A call sent here runs in a spawned
worker process with an address-space cap; the parent watches it and kills it when the call's total time or one
page's time runs out, or when the client cancels. A killed or crashed worker is replaced; the server keeps serving.

The pool is shared by every server in the process and started on first use. Library functions are sent by name
with picklable arguments; the worker builds its own engine from the settings.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib
import inspect
import logging
import multiprocessing
import multiprocessing.connection
import pickle
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mcp_docvl.config import Settings
from mcp_docvl.engines import create_engine
from mcp_docvl.errors import DocumentCorrupt, DocvlError, LimitExceeded
from mcp_docvl.limits import call_time_exceeded, page_time_exceeded
from mcp_docvl.pipeline.session import resolve_source

log = logging.getLogger(__name__)
# Engines a worker can build for itself from settings. A resident VLM (transformers) is loaded once in the server
# and shared, so calls that use it stay in-process.
WORKER_ENGINES = {"ocr", "openai"}
# A worker is replaced after this many calls, so slow leaks in native code cannot accumulate.
_MAX_CALLS_PER_WORKER = 200
_POLL = 0.05
# Seconds a worker asked to exit has before it is killed.
_STOP_WAIT = 5.0


class WorkerCancelled(Exception):
    """The caller cancelled; the worker running the call was stopped."""


class WorkerFailure(Exception):
    """An unexpected (non-Docvl) exception inside a worker, carried back by type name and message."""


# ---------------------------------------------------------------------------------------------------- worker side

def _limit_memory(memory_mb: int) -> None:
    if memory_mb <= 0:
        return
    try:
        import resource

        limit = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ImportError, ValueError, OSError):  # not on this platform: the timeouts still apply
        log.debug("could not cap worker memory", exc_info=True)


def _worker_main(conn: multiprocessing.connection.Connection, memory_mb: int) -> None:
    _limit_memory(memory_mb)
    engines: dict[str, Any] = {}
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return
        if task is None:
            return
        module, qualname, kwargs = task
        try:
            func = importlib.import_module(module)
            for part in qualname.split("."):
                func = getattr(func, part)
            settings: Settings | None = kwargs.get("settings")
            if "engine" in kwargs and settings is not None:
                if settings.engine not in engines:
                    engines[settings.engine] = create_engine(settings)
                kwargs["engine"] = engines[settings.engine]
            if qualname == "warm":
                if kwargs.get("engine") is not None:
                    kwargs["engine"].warm()
                result = None
            elif _takes_progress(func):
                result = func(progress=lambda done, total: conn.send(("progress", done, total)), **kwargs)
            else:
                result = func(**kwargs)
            message: tuple[Any, ...] = ("ok", result)
        except DocvlError as exc:
            message = ("docvl", type(exc), exc.problem, exc.fix)
        except MemoryError:
            message = ("docvl", LimitExceeded, "The document needed more memory than a worker may use "
                       f"(worker_memory_mb={memory_mb}).", "Raise --worker-memory-mb (DOCVL_WORKER_MEMORY_MB) "
                       "if the document is genuine.")
        except BaseException as exc:
            message = ("failure", type(exc).__name__, str(exc)[:500])
        try:
            conn.send(message)
        except (pickle.PicklingError, TypeError, AttributeError) as exc:
            conn.send(("failure", type(exc).__name__, f"result could not be sent back: {exc}"))


def _takes_progress(func: Callable[..., Any]) -> bool:
    params = inspect.signature(func).parameters.values()
    return any(p.name == "progress" or p.kind is inspect.Parameter.VAR_KEYWORD for p in params)


def warm(settings: Settings, engine: Any = None, progress: Any = None) -> None:
    """Task that only makes the worker build its engine (the worker recognises the name)."""


# ---------------------------------------------------------------------------------------------------- parent side

@dataclass
class _Worker:
    process: multiprocessing.process.BaseProcess
    conn: multiprocessing.connection.Connection
    calls: int = 0

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join(timeout=5)
        self.conn.close()

    def stop(self) -> None:
        """Ask the worker to exit and let it: a process that exits runs its finalizers, which release what it
        registered with the parent's resource tracker (tqdm's multiprocessing lock, taken when bm25s ranks
        passages). Killed instead, it leaves them behind, and the tracker warns of leaked semaphores at exit."""
        with contextlib.suppress(OSError, ValueError):
            self.conn.send(None)
        self.process.join(timeout=_STOP_WAIT)
        self.kill()


@dataclass
class WorkerPool:
    size: int
    memory_mb: int
    _idle: list[_Worker] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _slots: threading.BoundedSemaphore | None = None

    def __post_init__(self) -> None:
        self._slots = threading.BoundedSemaphore(self.size)
        self._context = multiprocessing.get_context("spawn")

    def _start(self) -> _Worker:
        parent, child = self._context.Pipe()
        process = self._context.Process(target=_worker_main, args=(child, self.memory_mb), daemon=True,
                                        name="docvl-worker")
        process.start()
        child.close()
        return _Worker(process, parent)

    def _take(self) -> _Worker:
        with self._lock:
            while self._idle:
                worker = self._idle.pop()
                if worker.process.is_alive():
                    return worker
                worker.kill()
        return self._start()

    def _give_back(self, worker: _Worker) -> None:
        worker.calls += 1
        if worker.calls >= _MAX_CALLS_PER_WORKER:
            worker.stop()
            return
        with self._lock:
            self._idle.append(worker)

    def prestart(self, settings: Settings) -> None:
        """Start every worker and build its engine now, so the first calls do not pay for it."""
        started = [self._start() for _ in range(self.size - len(self._idle))]
        for worker in started:
            worker.conn.send((__name__, "warm", {"settings": settings, "engine": None}))
        for worker in started:
            try:
                if worker.conn.poll(120):
                    worker.conn.recv()
            except (EOFError, OSError):  # it died starting (e.g. an unguarded __main__): calls start a new one
                worker.kill()
                continue
            self._give_back(worker)

    def run(self, func: Callable[..., Any], kwargs: dict[str, Any], settings: Settings,
            progress: Callable[[int, int], None] | None = None, cancelled: threading.Event | None = None) -> Any:
        """Run `func(**kwargs, progress=...)` in a worker within the call and page time limits."""
        started = time.monotonic()
        call_deadline = started + settings.call_timeout
        assert self._slots is not None
        if not self._slots.acquire(timeout=settings.call_timeout):
            raise call_time_exceeded(settings, "waiting for a free worker")
        try:
            worker = self._take()
            try:
                worker.conn.send((func.__module__, func.__qualname__, kwargs))
                # Only functions that report pages can be held to the per-page limit; others get the call limit.
                message = self._wait(worker, settings, call_deadline, progress, cancelled,
                                     per_page=_takes_progress(func))
            except BaseException:
                # Timed out, cancelled or dead: whatever the worker is doing, it is not trusted again.
                worker.kill()
                raise
            self._give_back(worker)  # it answered, so it is healthy, even if the answer is an error
            kind = message[0]
            if kind == "ok":
                return message[1]
            if kind == "docvl":
                raise message[1](message[2], message[3])
            raise WorkerFailure(f"{message[1]}: {message[2]}")
        finally:
            self._slots.release()

    def _wait(self, worker: _Worker, settings: Settings, call_deadline: float,
              progress: Callable[[int, int], None] | None, cancelled: threading.Event | None,
              per_page: bool = True) -> tuple[Any, ...]:
        """The worker's final message; raises on time limits, cancellation and a dead worker."""
        page_timeout = settings.page_timeout if per_page else float("inf")
        page_deadline = time.monotonic() + page_timeout
        pages_done = 0
        while True:
            if cancelled is not None and cancelled.is_set():
                raise WorkerCancelled
            now = time.monotonic()
            if now > call_deadline:
                raise call_time_exceeded(settings, f"after {pages_done} page(s)")
            if now > page_deadline:
                raise page_time_exceeded(settings, pages_done + 1)
            try:
                ready = worker.conn.poll(_POLL)
                message = worker.conn.recv() if ready else None
            except (EOFError, OSError):
                message = ("died",)
            if message is None:
                if not worker.process.is_alive() and not worker.conn.poll(0):
                    message = ("died",)
                else:
                    continue
            kind = message[0]
            if kind == "progress":
                pages_done = message[1]
                page_deadline = time.monotonic() + page_timeout
                if progress is not None:
                    progress(message[1], message[2])
                continue
            if kind in ("ok", "docvl", "failure"):
                return message
            worker.process.join(timeout=5)
            code = worker.process.exitcode
            raise DocumentCorrupt(
                f"The document crashed the parser (worker process exit code {code}); the server is unaffected.",
                "The file is probably damaged or hostile; repair or re-export it (e.g. `qpdf in.pdf out.pdf`).",
            )

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for worker in idle:
            with contextlib.suppress(OSError, ValueError):
                worker.conn.send(None)  # all asked first, so they exit together
        for worker in idle:
            worker.stop()


_pool: WorkerPool | None = None
_pool_lock = threading.Lock()


def get_pool(settings: Settings) -> WorkerPool:
    """The process-wide pool, started on first use with the first caller's size and memory cap."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = WorkerPool(size=max(1, settings.workers), memory_mb=settings.worker_memory_mb)
            # Registered after multiprocessing's own exit handler, so it runs first: the workers exit cleanly
            # before multiprocessing would terminate them.
            atexit.register(shutdown)
        return _pool


def shutdown() -> None:
    global _pool
    with _pool_lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.close()


def can_isolate(func: Callable[..., Any], kwargs: dict[str, Any], settings: Settings, engine: Any) -> bool:
    """Whether this call can run in a worker: isolation on, an engine a worker can build, picklable arguments."""
    func = getattr(func, "__wrapped__", func)
    if not settings.isolate or "<locals>" in getattr(func, "__qualname__", "<locals>"):
        return False
    if settings.engine not in WORKER_ENGINES:
        return False
    # The worker builds its own engine from the settings: only one of ours, configured by them, has a twin there.
    if engine is not None and (engine.name != settings.engine
                               or not type(engine).__module__.startswith("mcp_docvl.engines.")):
        return False
    try:
        pickle.dumps({k: v for k, v in kwargs.items() if k != "engine"})
    except Exception:
        log.debug("arguments of %s are not picklable; running in-process", func.__qualname__)
        return False
    return True


def run_isolated(func: Callable[..., Any], kwargs: dict[str, Any], settings: Settings,
                 progress: Callable[[int, int], None] | None = None, cancelled: threading.Event | None = None) -> Any:
    """Run `func` in the shared worker pool (see `WorkerPool.run`)."""
    func = getattr(func, "__wrapped__", func)  # an adapter around a library function: send the function itself
    kwargs = dict(kwargs)
    if isinstance(kwargs.get("source"), str):
        # Fetching and path checks parse no document: done here, a refused path or URL is answered at once and
        # a slow download holds no worker. The worker gets the bytes.
        kwargs["source"] = resolve_source(kwargs["source"], settings)
    if "engine" in kwargs:
        kwargs["engine"] = None  # the worker puts its own in
    return get_pool(settings).run(func, kwargs, settings, progress=progress, cancelled=cancelled)


__all__ = ["WorkerCancelled", "WorkerFailure", "WorkerPool", "can_isolate", "get_pool", "run_isolated", "shutdown"]
