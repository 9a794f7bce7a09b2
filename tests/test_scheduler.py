"""The batching scheduler in front of a model: real threads, a stand-in batch function (no model needed)."""

from __future__ import annotations

import asyncio
import concurrent.futures as cf
import threading
import time

import pytest

from mcp_docvl.engines.local.scheduler import BatchScheduler, EngineBusy
from mcp_docvl.errors import EngineError, InvalidArgument, LimitExceeded


def test_concurrent_requests_share_one_batch_and_get_their_own_results():
    sizes: list[int] = []

    def run_batch(requests):
        sizes.append(len(requests))
        return [r.payload * 10 for r in requests]

    scheduler = BatchScheduler(run_batch, max_batch=4, batch_window=0.5)
    try:
        with cf.ThreadPoolExecutor(4) as pool:
            results = list(pool.map(scheduler.submit, [1, 2, 3, 4]))
        assert results == [10, 20, 30, 40]
        assert sizes == [4]
    finally:
        scheduler.close()


def test_a_full_queue_answers_busy_with_a_retry_delay():
    release = threading.Event()
    started = threading.Event()

    def run_batch(requests):
        started.set()
        release.wait(5)
        return [r.payload for r in requests]

    scheduler = BatchScheduler(run_batch, max_batch=1, queue_size=2, batch_window=0.0)
    try:
        running = scheduler.enqueue("a")
        assert started.wait(5)
        waiting = [scheduler.enqueue("b"), scheduler.enqueue("c")]
        with pytest.raises(EngineBusy) as info:
            scheduler.enqueue("d")
        assert info.value.retry_after >= 1
        assert "busy" in str(info.value) and "Retry after" in str(info.value)
        release.set()
        assert [r.future.result(5) for r in (running, *waiting)] == ["a", "b", "c"]
    finally:
        release.set()
        scheduler.close()


def test_a_timed_out_request_frees_its_slot():
    release = threading.Event()

    def run_batch(requests):
        release.wait(5)
        return [r.payload for r in requests]

    scheduler = BatchScheduler(run_batch, max_batch=1, queue_size=1, batch_window=0.0)
    try:
        blocker = scheduler.enqueue("busy")
        time.sleep(0.1)  # the worker has taken it
        with pytest.raises(LimitExceeded) as info:
            scheduler.submit("late", timeout=0.2)
        assert "did not answer within" in str(info.value)
        assert scheduler.queued == 0
        scheduler.enqueue("next")  # the slot is free again: no EngineBusy
        release.set()
        assert blocker.future.result(5) == "busy"
    finally:
        release.set()
        scheduler.close()


async def test_cancelling_an_async_caller_removes_its_request():
    release = threading.Event()
    seen: list[str] = []

    def run_batch(requests):
        release.wait(5)
        seen.extend(r.payload for r in requests)
        return [r.payload for r in requests]

    scheduler = BatchScheduler(run_batch, max_batch=1, queue_size=4, batch_window=0.0)
    try:
        first = asyncio.ensure_future(scheduler.submit_async("first"))
        await asyncio.sleep(0.1)
        second = asyncio.ensure_future(scheduler.submit_async("cancelled"))
        await asyncio.sleep(0.1)
        assert scheduler.queued == 1
        second.cancel()
        with pytest.raises(asyncio.CancelledError):
            await second
        assert scheduler.queued == 0
        release.set()
        assert await first == "first"
        assert seen == ["first"]
    finally:
        release.set()
        scheduler.close()


def test_batch_failures_reach_every_caller_as_clear_errors():
    def crash(requests):
        raise RuntimeError("CUDA error: device-side assert")

    def refuse(requests):
        raise InvalidArgument("bad page", "pass another")

    for run_batch, expected in ((crash, EngineError), (refuse, InvalidArgument)):
        scheduler = BatchScheduler(run_batch, max_batch=2, batch_window=0.2)
        try:
            with cf.ThreadPoolExecutor(2) as pool:
                futures = [pool.submit(scheduler.submit, n) for n in range(2)]
                for future in futures:
                    with pytest.raises(expected) as info:
                        future.result()
                    if expected is EngineError:
                        assert "device-side assert" in str(info.value) and "retry" in str(info.value)
        finally:
            scheduler.close()
