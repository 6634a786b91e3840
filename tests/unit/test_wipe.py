"""A wipe tries every step, reports whether all went through, and retries what failed."""

from __future__ import annotations

import asyncio

from bot.escalation.ratelimit import RateLimiter
from bot.wipe import Wipe


def test_a_failed_step_is_reported_then_retried_until_it_goes_through():
    calls: list[str] = []
    failures = {"escalation": 2}

    async def step(name: str, pseudonym: str) -> bool:
        calls.append(name)
        if failures.get(name, 0) > 0:
            failures[name] -= 1
            raise ConnectionError("database restarting")
        return True

    async def scenario() -> bool:
        wipe = Wipe([(n, lambda p, n=n: step(n, p)) for n in ("conversation", "escalation")],
                    retry_delays=(0, 0, 0), last=("scrub", lambda p: step("scrub", p)))
        done = await wipe.run("p1")
        await wipe.settle()
        return done

    assert asyncio.run(scenario()) is False  # the user is told it did not all go through
    assert calls == ["conversation", "escalation", "scrub",  # first attempt
                     "escalation", "scrub",  # first retry: still failing
                     "escalation", "scrub"]  # second retry: done, and scrubbed after it


def test_a_step_that_reports_false_counts_as_failed():
    async def scenario() -> bool:
        wipe = Wipe([("conversation", lambda p: asyncio.sleep(0, result=False))],
                    retry_delays=())
        return await wipe.run("p1")

    assert asyncio.run(scenario()) is False


def test_rate_limiter_allows_a_burst_then_one_per_interval():
    now = [0.0]
    limiter = RateLimiter(per_minute=6, burst=3, clock=lambda: now[0])
    assert [limiter.retry_after("ip") for _ in range(3)] == [0, 0, 0]
    assert limiter.retry_after("ip") > 0 and limiter.retry_after("other") == 0
    now[0] += 10  # 6 a minute: one more after 10 s
    assert limiter.retry_after("ip") == 0 and limiter.retry_after("ip") > 0
