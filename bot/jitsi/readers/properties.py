"""Java properties (Jicofo's sip-communicator.properties): keys and values with their lines."""

from __future__ import annotations

from pathlib import Path

from bot.jitsi.readers.source import Entry, FilesRead


def read_properties(path: Path, files: FilesRead) -> dict[str, Entry]:
    """Java .properties: `#`/`!` comments, `=`, `:` or space separators, `\\` continuations."""
    properties: dict[str, Entry] = {}
    text = files.read_text(path)
    if text is None:
        return properties
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        number = i + 1
        logical = lines[i].lstrip()
        i += 1
        if not logical or logical[0] in "#!":
            continue
        while _continues(logical) and i < len(lines):
            logical = logical[:-1] + lines[i].lstrip()
            i += 1
        key, value = _split_property(logical)
        if key:
            properties[key] = Entry(value, path, number)
    return properties


def _continues(line: str) -> bool:
    """An odd number of trailing backslashes continues the line."""
    return (len(line) - len(line.rstrip("\\"))) % 2 == 1


def _split_property(line: str) -> tuple[str, str]:
    """Key and value of a logical properties line."""
    key: list[str] = []
    i = 0
    while i < len(line):
        char = line[i]
        if char == "\\" and i + 1 < len(line):
            key.append(line[i + 1])
            i += 2
            continue
        if char in "=: \t\f":
            break
        key.append(char)
        i += 1
    rest = line[i:].lstrip(" \t\f")
    if rest[:1] in ("=", ":"):
        rest = rest[1:].lstrip(" \t\f")
    return "".join(key), rest.rstrip()
