"""Containment: a parser that crashes, spins, stalls on a page or eats memory costs one worker, not the server."""

from __future__ import annotations

import threading
import time

import hostile
import pytest
from hostile import RESOURCES, SAMPLE, make_server
from mcp import Client

from mcp_docvl.config import Settings
from mcp_docvl.errors import DocumentCorrupt, LimitExceeded
from mcp_docvl.mcp.workers import WorkerCancelled, WorkerPool


@pytest.fixture(scope="module")
def pool():
    pool = WorkerPool(size=2, memory_mb=2048)
    yield pool
    pool.close()


def settings(**overrides: object) -> Settings:
    return Settings.from_env(roots=[RESOURCES], **overrides)


def assert_pool_serves(pool: WorkerPool) -> None:
    s = settings()
    assert "1,234.56 EUR" in pool.run(hostile.sample_text, {"settings": s}, s)


def test_native_crash_is_contained(pool):
    with pytest.raises(DocumentCorrupt, match=r"crashed the parser \(worker process exit code -6\)"):
        pool.run(hostile.crash, {}, settings())
    assert_pool_serves(pool)


def test_endless_loop_is_killed_at_the_call_limit(pool):
    started = time.monotonic()
    with pytest.raises(LimitExceeded, match=r"call_timeout limit of 1.5 s.*--call-timeout"):
        pool.run(hostile.spin, {}, settings(call_timeout=1.5))
    assert time.monotonic() - started < 30  # bounded: only a hang breaks this
    assert_pool_serves(pool)


def test_stalled_page_is_killed_at_the_page_limit(pool):
    with pytest.raises(LimitExceeded, match=r"Page 2 .*page_timeout limit of 1 s.*--page-timeout"):
        pool.run(hostile.stuck_on_second_page, {}, settings(page_timeout=1.0))
    assert_pool_serves(pool)


def test_memory_bomb_hits_the_worker_cap(pool):
    with pytest.raises(LimitExceeded, match=r"more memory than a worker may use \(worker_memory_mb=2048\)"):
        pool.run(hostile.hog, {}, settings())
    assert_pool_serves(pool)


def test_cancelled_call_stops_its_worker(pool):
    cancelled = threading.Event()
    threading.Timer(0.5, cancelled.set).start()
    with pytest.raises(WorkerCancelled):
        pool.run(hostile.spin, {}, settings(), cancelled=cancelled)
    assert_pool_serves(pool)


def test_a_stuck_call_does_not_starve_others(pool):
    outcome: list[BaseException] = []
    stop = threading.Event()

    def stuck() -> None:
        try:
            pool.run(hostile.spin, {}, settings(call_timeout=60), cancelled=stop)
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=stuck)
    thread.start()
    try:
        assert_pool_serves(pool)  # on the second worker, while the first spins
        assert thread.is_alive() and not outcome  # the stuck call was still stuck: the normal one did not wait
    finally:
        stop.set()
        thread.join()
    assert isinstance(outcome[0], WorkerCancelled)


async def test_in_process_calls_keep_the_call_limit(tmp_path):
    """With isolation off (--no-isolation) the limits are checked between pages instead: a call out of time stops
    after the page it is on and returns the pages done, with a cursor for the rest and the limit named."""
    server = make_server([tmp_path], isolate=False, call_timeout=0.000001)
    async with Client(server) as client:
        result = await client.call_tool("read_document", {"source": SAMPLE})
    assert not result.is_error
    data = result.structured_content
    assert [p["page"] for p in data["pages"]] == [1] and data["next_cursor"]
    assert "--call-timeout" in data["continuation"] and "--call-timeout" in result.content[0].text
