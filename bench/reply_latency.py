"""Reply latency: how long a person waits for /help or /meetings while a big fan-out runs.

The real bot polls the sandbox, which enforces Telegram's limits as strict sliding windows at
scale 1 (30 messages in any second). A 1,000-link fan-out is started as in bench.fanout; while
it runs, someone who is not in that meeting (but has a meeting of their own) writes /help and
/meetings in turn, a few seconds apart. Each figure is the time from the message reaching the
sandbox to the bot's reply reaching it: polling, the handler, and the wait in the rate
limiter's queue behind the links. The same is measured first with the bot idle.

    .venv/bin/python -m bench.reply_latency [--participants 1000] [--asks 10]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import time
from datetime import timedelta

from bench._common import Arrivals, RunningClock, running_bot, seed_meeting, started_users
from bench.fanout import MEETING_START, START, sweep_until_done
from bot.sandbox import Sandbox
from bot.sandbox.models import User as SandboxUser

GOAL_SECONDS = 0.3
COMMANDS = ("/help", "/meetings")
# Replies to one private chat are at least a second apart (Telegram's limit): ask less often.
ASK_EVERY = 2.0


async def ask(sandbox: Sandbox, arrivals: Arrivals, user: SandboxUser, command: str) -> float:
    """Seconds from `command` reaching the sandbox to the bot's reply reaching it."""
    count = len(arrivals.messages[user.id])
    asked = time.perf_counter()
    sandbox.send_text(user, command)
    answered: float = await arrivals.wait_for(user.id, count + 1)
    return answered - asked


def describe(latencies: list[float]) -> str:
    """Median and worst of some latencies, in milliseconds."""
    if not latencies:
        return "-"
    return (
        f"median {statistics.median(latencies) * 1e3:.0f} ms, "
        f"worst {max(latencies) * 1e3:.0f} ms (n={len(latencies)})"
    )


async def run(participants: int, asks: int) -> None:
    """Ask while idle, then while the fan-out runs; print the latencies."""
    logging.getLogger().setLevel(logging.WARNING)
    clock = RunningClock(START)
    async with running_bot(clock) as (sandbox, harness):
        services = harness.services
        people = started_users(sandbox, participants)
        meeting_id = seed_meeting(
            services.engine,
            services.rules,
            people=people,
            title="All hands",
            starts_at=MEETING_START,
            now=clock(),
        )
        [asker] = started_users(sandbox, 1, prefix="Asker")
        # Something for /meetings to list; it is not due during the benchmark.
        seed_meeting(
            services.engine,
            services.rules,
            people=[asker],
            title="Asker's own",
            starts_at=MEETING_START + timedelta(days=2),
            now=clock(),
        )
        arrivals = Arrivals(sandbox)
        await asyncio.sleep(0.3)  # the start-up sweep (nothing due)

        idle: dict[str, list[float]] = {command: [] for command in COMMANDS}
        for n in range(4):
            command = COMMANDS[n % len(COMMANDS)]
            idle[command].append(await ask(sandbox, arrivals, asker, command))
            await asyncio.sleep(ASK_EVERY / 2)

        clock.set(MEETING_START - services.rules.remind_before)
        limited_before = sandbox.stats.rate_limited
        began = time.perf_counter()
        fan_out = asyncio.create_task(
            sweep_until_done(harness, clock, {meeting_id}, give_up_after=600)
        )
        await asyncio.sleep(2.0)  # the fan-out is in full swing
        busy: dict[str, list[float]] = {command: [] for command in COMMANDS}
        links_then: list[int] = []
        for n in range(asks):
            if fan_out.done():
                break
            command = COMMANDS[n % len(COMMANDS)]
            busy[command].append(await ask(sandbox, arrivals, asker, command))
            links_then.append(sum(len(arrivals.messages[p.id]) for p in people))
            await asyncio.sleep(ASK_EVERY)
        await fan_out
        fan_out_seconds = time.perf_counter() - began
        rejected = sandbox.stats.rate_limited - limited_before

    print(
        f"Replies while a {participants:,}-link fan-out runs; the sandbox enforces Telegram's "
        "limits as strict sliding windows (30 messages in any second), the bot polls it"
    )
    rows = [(f"idle: {command}", describe(idle[command])) for command in COMMANDS]
    rows += [(f"during the fan-out: {command}", describe(busy[command])) for command in COMMANDS]
    if links_then:
        rows.append(
            ("links already out when asked", f"{min(links_then):,} .. {max(links_then):,}")
        )
    rows.append(("fan-out took", f"{fan_out_seconds:.1f} s, {rejected} 429s"))
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    worst = max((max(v) for v in busy.values() if v), default=float("inf"))
    verdict = "OK" if worst < GOAL_SECONDS and rejected == 0 else "GOAL MISSED"
    print(f"verdict: {verdict} (every reply during the fan-out under {GOAL_SECONDS} s, 0 429s)")


def main() -> None:
    """Parse the options and run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--participants", type=int, default=1000)
    parser.add_argument("--asks", type=int, default=10, help="commands sent during the fan-out")
    args = parser.parse_args()
    asyncio.run(run(args.participants, args.asks))


if __name__ == "__main__":
    main()
