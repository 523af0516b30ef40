"""extensions._util.coalesce: per-sample coroutine calls become batch calls, each caller gets its own result."""

import asyncio
import threading

import pytest

from extensions._util.coalesce import Coalescer


def recording():
    sizes: list[int] = []

    def run(items):
        sizes.append(len(items))
        return [x * 10 for x in items]

    return run, sizes


def test_calls_of_one_turn_form_one_batch_in_order():
    run, sizes = recording()
    c = Coalescer(run, lambda x, exc: -1, name="t")

    async def main():
        return await asyncio.gather(*(c(i) for i in range(50)))

    assert asyncio.run(main()) == [i * 10 for i in range(50)]
    assert sizes == [50] and (c.batches, c.items) == (1, 50)


def gated():
    """A batch function that signals when a batch starts and waits for ``release`` (events, not sleeps)."""
    sizes: list[int] = []
    started, release = threading.Event(), threading.Event()

    def run(items):
        sizes.append(len(items))
        started.set()
        assert release.wait(30)
        return [x * 10 for x in items]

    return run, sizes, started, release


def test_calls_arriving_during_a_batch_wait_for_the_next_one():
    run, sizes, started, release = gated()
    c = Coalescer(run, lambda x, exc: -1, name="t")

    async def main():
        first = asyncio.ensure_future(c(100))
        await asyncio.to_thread(started.wait, 30)  # the first batch is being scored
        rest = [asyncio.ensure_future(c(i)) for i in range(6)]
        await asyncio.sleep(0)  # one loop turn: the six calls are collected
        release.set()
        return await first, await asyncio.gather(*rest)

    first, rest = asyncio.run(main())
    assert first == 1000 and rest == [i * 10 for i in range(6)]
    assert sizes == [1, 6]


def test_max_batch_splits():
    run, sizes = recording()
    c = Coalescer(run, lambda x, exc: -1, name="t", max_batch=4)

    async def main():
        return await asyncio.gather(*(c(i) for i in range(10)))

    assert asyncio.run(main()) == [i * 10 for i in range(10)]
    assert sizes == [4, 4, 2]


@pytest.mark.parametrize("mode", ["raises", "wrong_length"])
def test_a_failing_batch_gives_each_caller_the_fallback_logged_once(mode, caplog):
    class CoalesceTestBoom(RuntimeError):
        pass

    def run(items):
        if mode == "raises":
            raise CoalesceTestBoom("boom")
        return [1]

    c = Coalescer(run, lambda x, exc: ("fallback", x), name=f"coalesce-test-{mode}")

    async def main():
        a = await asyncio.gather(*(c(i) for i in range(3)))
        b = await asyncio.gather(*(c(i) for i in range(2)))
        return a + b

    with caplog.at_level("WARNING"):
        assert asyncio.run(main()) == [
            ("fallback", 0),
            ("fallback", 1),
            ("fallback", 2),
            ("fallback", 0),
            ("fallback", 1),
        ]
    assert sum(f"coalesce-test-{mode}" in m for m in caplog.messages) == 1


def test_a_cancelled_caller_does_not_disturb_the_others():
    run, sizes, started, release = gated()
    c = Coalescer(run, lambda x, exc: -1, name="t")

    async def main():
        tasks = [asyncio.ensure_future(c(i)) for i in range(4)]
        await asyncio.to_thread(started.wait, 30)  # the batch of four is being scored
        tasks[1].cancel()
        release.set()
        return await asyncio.gather(*tasks, return_exceptions=True)

    out = asyncio.run(main())
    assert out[0] == 0 and out[2] == 20 and out[3] == 30
    assert isinstance(out[1], asyncio.CancelledError)
    assert sizes == [4]


def test_each_event_loop_collects_its_own_calls():
    run, sizes = recording()
    c = Coalescer(run, lambda x, exc: -1, name="t")
    results: dict[int, list[int]] = {}

    def worker(k):
        async def main():
            return await asyncio.gather(*(c(k * 100 + i) for i in range(20)))

        results[k] = asyncio.run(main())

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == {k: [(k * 100 + i) * 10 for i in range(20)] for k in range(4)}
    assert sorted(sizes) == [20, 20, 20, 20]


def test_submitted_calls_join_the_same_batch_as_awaited_ones():
    run, sizes = recording()
    c = Coalescer(run, lambda x, exc: -1, name="t")

    async def via_submit(i):
        return await c.submit(i)

    async def main():
        return await asyncio.gather(*(via_submit(i) if i % 2 else c(i) for i in range(10)))

    assert asyncio.run(main()) == [i * 10 for i in range(10)]
    assert sizes == [10]


def test_submit_outside_an_event_loop_raises():
    c = Coalescer(lambda xs: xs, lambda x, exc: -1, name="t")
    with pytest.raises(RuntimeError):
        c.submit(1)


def test_by_group_runs_one_group_or_several_in_the_items_order():
    from extensions._util.coalesce import by_group

    calls = []

    def run(group):
        calls.append(list(group))
        return [x * 10 for x in group]

    assert by_group([1, 2, 3], lambda x: "same", run) == [10, 20, 30] and calls == [[1, 2, 3]]
    calls.clear()
    assert by_group([1, 2, 3, 4], lambda x: x % 2, run) == [10, 20, 30, 40] and calls == [[1, 3], [2, 4]]
    with pytest.raises(RuntimeError):
        by_group([1, 2], lambda x: 0, lambda g: [1])
