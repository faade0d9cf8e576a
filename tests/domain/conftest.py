"""The domain tests run on a real database file, without Telegram."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import Session

from tests.domain.helpers import domain_session


@pytest.fixture
def session(tmp_path: Path) -> Iterator[Session]:
    """A session on a fresh database that knows the owner, the member, a stranger and a group admin."""
    with domain_session(tmp_path) as session:
        yield session
