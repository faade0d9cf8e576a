"""Settings in the Jitsi tests come from the test only."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings must come from the test only, not from the developer's shell."""
    for name in list(os.environ):
        if name.upper().startswith(("JITSI_", "TELEGRAM_")):
            monkeypatch.delenv(name)
