"""The delivery tests that need a database use the domain tests' one, with the same people."""

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
