"""A bounded queue in front of one model: micro-batching, per-request timeouts, cancellation, backpressure.

Tool calls arrive concurrently (server worker threads or asyncio tasks); the model serves one forward pass at a
time. One worker thread takes up to `max_batch` waiting requests (waiting `batch_window` seconds for company
after the first arrives) and hands them to `run_batch` together, so concurrent calls share a forward pass. A full
queue answers at once with a "busy, retry after N s" error instead of letting callers wait without bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Any

from mcp_docvl.errors import DocvlError, EngineError, LimitExceeded


class EngineBusy(DocvlError):
    """Every queue slot in front of the model is taken."""

    def __init__(self, queued: int, retry_after: float) -> None:
        self.retry_after = retry_after
        super().__init__(
            f"The model is busy: {queued} requests are already waiting.",
            f"Retry after {retry_after:.0f} s, or raise DOCVL_VLM_QUEUE_SIZE if the machine has spare capacity.",
        )


@dataclass
class Request:
    payload: Any
    future: Future = field(default_factory=Future)
    # Set when the caller gives up (timeout, cancelled call); a batch in progress may stop early on it.
    cancelled: threading.Event = field(default_factory=threading.Event)
    queued_at: float = field(default_factory=time.monotonic)


RunBatch = Callable[[Sequence[Request]], Sequence[Any]]


class BatchScheduler:
    def __init__(self, run_batch: RunBatch, max_batch: int = 8, queue_size: int = 32, batch_window: float = 0.01,
                 timeout: float = 300.0, name: str = "vlm") -> None:
        if max_batch < 1 or queue_size < 1:
            raise ValueError("max_batch and queue_size must be positive")
        self._run_batch = run_batch
        self.max_batch = max_batch
        self.queue_size = queue_size
        self.batch_window = batch_window
        self.timeout = timeout
        self._queue: deque[Request] = deque()
        self._cond = threading.Condition()
        self._closed = False
        # Seconds per batch, smoothed: the basis of the "retry after" estimate.
        self._batch_seconds = 5.0
        self._worker = threading.Thread(target=self._loop, name=f"docvl-{name}-scheduler", daemon=True)
        self._worker.start()

    # -- submitting -------------------------------------------------------------------------------------------

    def enqueue(self, payload: Any, on_queued: Callable[[Any], Any] | None = None) -> Request:
        """Queue `payload`; `on_queued(payload)` then runs in the caller's thread, once the request has a place
        (work worth starting early, which a request turned away as busy must not cause)."""
        with self._cond:
            if self._closed:
                raise EngineError("The model engine was shut down.", "Restart the server.")
            if len(self._queue) >= self.queue_size:
                raise EngineBusy(len(self._queue), self.retry_after())
            request = Request(payload)
            self._queue.append(request)
            self._cond.notify()
        if on_queued is not None:
            on_queued(payload)
        return request

    def submit(self, payload: Any, timeout: float | None = None,
               on_queued: Callable[[Any], Any] | None = None) -> Any:
        """Run `payload` in a batch and return its result; blocks the calling thread (`on_queued`: see enqueue)."""
        request = self.enqueue(payload, on_queued)
        limit = self.timeout if timeout is None else timeout
        with self._given_up_on_failure(request, limit):
            return request.future.result(timeout=limit)

    async def submit_async(self, payload: Any, timeout: float | None = None,
                           on_queued: Callable[[Any], Any] | None = None) -> Any:
        """As `submit`, for asyncio callers: cancelling the awaiting task frees the request's slot."""
        request = self.enqueue(payload, on_queued)
        limit = self.timeout if timeout is None else timeout
        with self._given_up_on_failure(request, limit):
            return await asyncio.wait_for(asyncio.wrap_future(request.future), limit)

    @contextlib.contextmanager
    def _given_up_on_failure(self, request: Request, limit: float) -> Iterator[None]:
        """Around waiting for `request`: a wait that times out, is cancelled or fails otherwise gives the request
        up (`cancel`), and a timeout becomes the error that says so."""
        try:
            yield
        except (FutureTimeout, TimeoutError):  # the same class since Python 3.11; both named for the two waits
            self.cancel(request)
            raise _no_answer_within(limit) from None
        except BaseException:
            self.cancel(request)
            raise

    def cancel(self, request: Request) -> None:
        """Give up on `request`: it leaves the queue now, or its batch may stop early once all its members gave up."""
        request.cancelled.set()
        with self._cond, contextlib.suppress(ValueError):
            self._queue.remove(request)
        request.future.cancel()

    def retry_after(self) -> float:
        batches_ahead = len(self._queue) / self.max_batch + 1
        return max(1.0, batches_ahead * self._batch_seconds)

    @property
    def queued(self) -> int:
        return len(self._queue)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            pending = list(self._queue)
            self._queue.clear()
            self._cond.notify_all()
        for request in pending:
            if not request.future.done():
                request.future.set_exception(EngineError("The model engine was shut down.", "Restart the server."))
        self._worker.join(timeout=5)

    # -- the worker -------------------------------------------------------------------------------------------

    def _take_batch(self) -> list[Request]:
        with self._cond:
            while not self._queue and not self._closed:
                self._cond.wait()
            if self._closed:
                return []
            # Give concurrent callers a moment to join this forward pass.
            deadline = time.monotonic() + self.batch_window
            while len(self._queue) < self.max_batch and not self._closed:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            batch = []
            while self._queue and len(batch) < self.max_batch:
                request = self._queue.popleft()
                if not request.cancelled.is_set() and request.future.set_running_or_notify_cancel():
                    batch.append(request)
            return batch

    def _loop(self) -> None:
        while True:
            batch = self._take_batch()
            if not batch:
                if self._closed:
                    return
                continue
            started = time.monotonic()
            try:
                results = self._run_batch(batch)
            except BaseException as exc:
                error = exc if isinstance(exc, DocvlError) else EngineError(
                    f"The model failed on this request ({type(exc).__name__}: {exc}).",
                    "Check the engine settings (model, device, dtype); retry with fewer pages.",
                )
                for request in batch:
                    if not request.future.done():
                        request.future.set_exception(error)
                continue
            finally:
                elapsed = time.monotonic() - started
                self._batch_seconds = 0.7 * self._batch_seconds + 0.3 * elapsed
            for request, result in zip(batch, results, strict=True):
                if request.future.done():
                    continue
                if isinstance(result, BaseException):
                    request.future.set_exception(result)
                else:
                    request.future.set_result(result)


__all__ = ["BatchScheduler", "EngineBusy", "Request"]


def _no_answer_within(limit: float) -> LimitExceeded:
    return LimitExceeded(
        f"The model did not answer within {limit:.0f} s.",
        "Ask about fewer pages, lower max_new_tokens, or raise DOCVL_VLM_TIMEOUT.",
    )
