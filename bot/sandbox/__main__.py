"""Run the sandbox on its own: python -m bot.sandbox --port 8081."""

from __future__ import annotations

import argparse
import asyncio
import contextlib

from bot.sandbox.limits import RateLimits
from bot.sandbox.server import Sandbox


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(prog="python -m bot.sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081, help="0 picks a free port")
    parser.add_argument("--token", default="123456:TEST", help="the only token accepted")
    parser.add_argument("--username", default="meetings_test_bot", help="the bot's @username")
    parser.add_argument("--unlimited", action="store_true", help="switch off flood limits")
    return parser.parse_args(argv)


async def serve(args: argparse.Namespace) -> None:
    """Serve until cancelled."""
    sandbox = Sandbox(
        bot_token=args.token,
        bot_username=args.username,
        host=args.host,
        port=args.port,
        limits=RateLimits.unlimited() if args.unlimited else RateLimits(),
    )
    await sandbox.start()
    print(f"base_url: {sandbox.base_url}", flush=True)
    print(f"web page: {sandbox.url}/", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await sandbox.stop()


def main(argv: list[str] | None = None) -> None:
    """Entry point."""
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(parse_args(argv)))


if __name__ == "__main__":
    main()
