"""Tokens per second: TokenSigner.personal_link (bot/jitsi/tokens.py) against bare jwt.encode.

Both sign the same HS256 token: the full context.features set (19 names), an owner with an
e-mail, typ JWT. The bare side gets the finished payload dict; the wrapper side also builds the
claims (room check, feature set, timestamps) and the link, which is what it exists for. Rounds
are interleaved (bare, wrapper, bare, wrapper, ...) and each side keeps its best round, so a
noisy neighbour slows both alike. The parts of the wrapper (claims, sign) are timed the same way
to show where its extra cost goes.

    .venv/bin/python -m bench.tokens [--rounds 15] [--tokens 4000]
"""

from __future__ import annotations

import argparse
import gc
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from bot.config import load_settings, token_signer
from bot.jitsi import FEATURES, Person, Role, TokenSigner, resolve_features

SECRET = "bench-secret-that-is-long-enough-for-hs256"
GOAL_RATIO = 1.3


def make_signer() -> TokenSigner:
    """The signer the bot builds from its settings (HS256 with a shared secret)."""
    settings = load_settings(
        _env_file=None,
        jitsi_base_url="https://meet.example.com",
        jitsi_app_id="meetbot",
        jitsi_app_secret=SECRET,
        telegram_bot_token="123456:BENCH",
        database_url="sqlite:///:memory:",
    )
    signer = token_signer(settings)
    assert isinstance(signer, TokenSigner)
    return signer


def best_rate(fn: Callable[[], Any], count: int) -> float:
    """Calls per second of one round of `count` calls (GC off while timing)."""
    gc_was_on = gc.isenabled()
    gc.disable()
    try:
        start = time.perf_counter()
        for _ in range(count):
            fn()
        elapsed = time.perf_counter() - start
    finally:
        if gc_was_on:
            gc.enable()
    return count / elapsed


def main() -> None:
    """Run the interleaved rounds and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=15, help="rounds per variant (best kept)")
    parser.add_argument("--tokens", type=int, default=4000, help="tokens per round")
    args = parser.parse_args()

    signer = make_signer()
    issued = datetime(2026, 11, 28, 11, 50, tzinfo=UTC)
    expires = issued + timedelta(minutes=130)
    person = Person(user_id="tg-10000001", name="Alice Example", email="alice@example.com")
    room = "weekly-team-sync-k3m9pz"
    # Every feature named, some off: the "full feature set" a real token carries.
    features = resolve_features(Role.OWNER, {"recording": False}, {"livestreaming": False})
    assert set(features) == set(FEATURES)

    # The bare side: exactly the payload and header the wrapper produces, built once.
    payload = signer.claims(
        person=person,
        room=room,
        role=Role.OWNER,
        features=features,
        issued_at=issued,
        expires_at=expires,
    )
    headers = {"typ": "JWT"}

    def bare() -> str:
        return jwt.encode(payload, SECRET, algorithm="HS256", headers=headers)

    def wrapper() -> str:
        return signer.personal_link(
            person=person,
            room=room,
            role=Role.OWNER,
            features=features,
            issued_at=issued,
            expires_at=expires,
        )

    def claims_only() -> dict[str, Any]:
        return signer.claims(
            person=person,
            room=room,
            role=Role.OWNER,
            features=features,
            issued_at=issued,
            expires_at=expires,
        )

    def sign_only() -> str:
        return signer.sign(payload)

    # Same token, byte for byte: the comparison is fair.
    assert wrapper() == signer.link(room, bare()), "wrapper and bare tokens differ"

    variants: dict[str, Callable[[], Any]] = {
        "bare jwt.encode": bare,
        "TokenSigner.personal_link": wrapper,
        "  of which claims()": claims_only,
        "  of which sign()": sign_only,
    }
    for fn in variants.values():  # warm-up
        best_rate(fn, max(200, args.tokens // 10))
    best: dict[str, float] = dict.fromkeys(variants, 0.0)
    for _round in range(args.rounds):
        for name, fn in variants.items():
            best[name] = max(best[name], best_rate(fn, args.tokens))

    bare_cost = 1 / best["bare jwt.encode"]
    print(
        f"HS256, {len(FEATURES)} features, best of {args.rounds} interleaved rounds "
        f"x {args.tokens} tokens"
    )
    print(f"{'variant':<28} {'tokens/s':>10} {'us/token':>9} {'x bare':>7}")
    for name, rate in best.items():
        cost = 1 / rate
        print(f"{name:<28} {rate:>10,.0f} {cost * 1e6:>9.1f} {cost / bare_cost:>7.2f}")
    ratio = best["bare jwt.encode"] / best["TokenSigner.personal_link"]
    verdict = "OK" if ratio <= GOAL_RATIO else "ABOVE GOAL"
    print(f"ratio wrapper/bare (cost): {ratio:.2f}x  (goal <= {GOAL_RATIO}x: {verdict})")


if __name__ == "__main__":
    main()
