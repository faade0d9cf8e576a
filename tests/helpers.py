"""Factories the tests share."""

from __future__ import annotations

from typing import Any

from bot.config import Settings

SECRET = "test-secret-that-is-long-enough-for-hs256"


def decode_token(token: str, audience: str = "meetbot") -> dict[str, Any]:
    """A token's claims, checked against the test secret; times are the tests' own business."""
    import jwt

    claims: dict[str, Any] = jwt.decode(
        token,
        SECRET,
        algorithms=["HS256"],
        audience=audience,
        options={"verify_exp": False, "verify_nbf": False, "verify_iat": False},
    )
    return claims


def make_settings(**overrides: Any) -> Settings:
    """Settings for tests: a Jitsi server that does not exist, never the environment's."""
    values: dict[str, Any] = {
        "jitsi_base_url": "https://meet.example.com",
        "jitsi_app_id": "meetbot",
        "jitsi_app_secret": SECRET,
        "telegram_bot_token": "123456:TEST-TOKEN-abcdefghijklmnopqrstuvwxyz",
        "database_url": "sqlite:///:memory:",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def reset_database(url: str) -> None:
    """Empty a non-SQLite test database so that migrations start from nothing."""
    from sqlalchemy import text
    from sqlmodel import SQLModel

    import storage.models  # noqa: F401  (the tables to drop)
    from storage.db import make_engine

    engine = make_engine(url)
    SQLModel.metadata.drop_all(engine)
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
        connection.execute(text("DROP TYPE IF EXISTS meetingstatus, deliverystatus"))
    engine.dispose()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
