"""What every reader shares: the files read or not, tokens, and values with where they stand."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class FilesRead:
    """The files a check read, and the ones it could not read with the reason."""

    unreadable: list[tuple[Path, str]] = field(default_factory=list)
    checked: list[Path] = field(default_factory=list)

    def read_text(self, path: Path) -> str | None:
        """The file's text, or None after recording why it can't be read."""
        try:
            # Config keywords are ASCII; a Latin-1 comment must not make a valid file "unreadable".
            text = path.read_bytes().decode("utf-8", errors="replace")
        except OSError as error:
            self.unreadable.append((path, error.strerror or str(error)))
            return None
        self.checked.append(path)
        return text.removeprefix("\ufeff")


@dataclass(frozen=True)
class Entry:
    """A value read from a config file, with where it was written."""

    value: str
    file: Path
    line: int


@dataclass(frozen=True)
class Token:
    """A token: kind is name, str, num, sym (HOCON adds word, nl, subst); line is 1-based."""

    kind: str
    text: str
    line: int
    end: int


def scan(pattern: re.Pattern[str], text: str, other: str) -> Iterator[tuple[str, str, int, int]]:
    """Each match of a tokenizer pattern: its group (or other), its text, first and last line."""
    line = 1
    for match in pattern.finditer(text):
        raw = match.group()
        end = line + raw.count("\n")
        yield match.lastgroup or other, raw, line, end
        line = end
