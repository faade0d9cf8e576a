"""Jicofo's HOCON config (jicofo.conf): values by dotted path, nesting and include followed."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from bot.jitsi.readers.source import Entry, FilesRead, Token, scan

_HOCON_TOKEN = re.compile(
    r"""
    (?P<nl>\n)
  | (?P<space>[ \t\r\f\v\ufeff]+)
  | (?P<comment>(?:\#|//)[^\n]*)
  | (?P<triple>\"\"\".*?\"\"\"+)
  | (?P<str>"(?:[^"\\\n]|\\.)*")
  | (?P<subst>\$\{[^}\n]*\})
  | (?P<sym>\+=|[{}\[\],:=])
  | (?P<word>(?:[^\s{}\[\],:="\\#+/$]|/(?!/)|\+(?!=)|\$(?!\{)|\\)+)
  | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)


def _hocon_tokens(text: str) -> list[Token]:
    """HOCON tokens without comments or spaces; newlines kept (they separate fields)."""
    tokens: list[Token] = []
    for kind, raw, line, end in scan(_HOCON_TOKEN, text, "other"):
        if kind == "triple":
            tokens.append(Token("str", raw[3:-3], line, end))
        elif kind == "str":
            try:
                tokens.append(Token("str", str(json.loads(raw)), line, end))
            except ValueError:
                tokens.append(Token("str", raw[1:-1], line, end))
        elif kind not in ("space", "comment"):
            tokens.append(Token("word" if kind == "other" else kind, raw, line, end))
    return tokens


def hocon_bool(text: str) -> bool | None:
    """A HOCON boolean (true/yes/on, false/no/off), or None for anything else."""
    lowered = text.strip().lower()
    if lowered in ("true", "yes", "on"):
        return True
    if lowered in ("false", "no", "off"):
        return False
    return None


@dataclass
class HoconConfig:
    """jicofo.conf values by their dotted path, and where each object was opened."""

    values: dict[tuple[str, ...], Entry] = field(default_factory=dict)
    objects: dict[tuple[str, ...], Entry] = field(default_factory=dict)

    def get(self, dotted: str) -> Entry | None:
        """A value by its dotted path."""
        return self.values.get(tuple(dotted.split(".")))


class HoconReader:
    """Reads HOCON files into flat dotted paths: nesting, dotted keys and include handled."""

    def __init__(self, files: FilesRead) -> None:
        self.files = files
        self.config = HoconConfig()
        self.active: list[Path] = []

    def read(self, path: Path, prefix: tuple[str, ...] = (), required: bool = True) -> None:
        """Read a file whose fields belong under prefix."""
        key = path.resolve()
        if key in self.active:
            return  # an include loop; HOCON itself would fail, reading it once is enough here
        if not required and not path.exists():
            return  # HOCON silently skips a missing include unless it is required(...)
        text = self.files.read_text(path)
        if text is None:
            return
        tokens = _hocon_tokens(text)
        self.active.append(key)
        i = 0
        while i < len(tokens) and tokens[i].kind == "nl":
            i += 1
        if i < len(tokens) and tokens[i].text == "{":
            i += 1  # the root braces are optional in HOCON
        self._object(tokens, i, prefix, path)
        self.active.pop()

    def _object(self, tokens: list[Token], i: int, prefix: tuple[str, ...], path: Path) -> int:
        """Fields up to the closing `}` (or the end); returns the index after it."""
        while i < len(tokens):
            token = tokens[i]
            if token.kind == "nl" or token.text == ",":
                i += 1
                continue
            if token.kind == "sym" and token.text == "}":
                return i + 1
            if token.kind == "word" and token.text == "include":
                i = self._include(tokens, i + 1, prefix, path)
                continue
            key_tokens: list[Token] = []
            j = i
            while (
                j < len(tokens)
                and tokens[j].kind in ("word", "str")
                and tokens[j].line == token.line
            ):
                key_tokens.append(tokens[j])
                j += 1
            if not key_tokens or j >= len(tokens):
                i = self._skip_field(tokens, max(j, i + 1))
                continue
            key = prefix + _hocon_key(key_tokens)
            separator = tokens[j]
            if separator.text in ("=", ":", "+="):
                j += 1
            if j < len(tokens) and tokens[j].text == "{":
                self.config.objects[key] = Entry("{", path, token.line)
                i = self._object(tokens, j + 1, key, path)
            elif j < len(tokens) and tokens[j].text == "[":
                self.config.values[key] = Entry("[...]", path, token.line)
                i = self._skip_field(tokens, j)
            elif separator.text in ("=", ":", "+="):
                i = self._value(tokens, j, key, path, token.line)
            else:
                i = self._skip_field(tokens, j)
        return i

    def _value(
        self, tokens: list[Token], i: int, key: tuple[str, ...], path: Path, line: int
    ) -> int:
        """A simple value: the tokens up to the end of the field, joined."""
        parts: list[str] = []
        while i < len(tokens) and tokens[i].kind != "nl" and tokens[i].text not in (",", "}"):
            parts.append(tokens[i].text)
            i += 1
        self.config.values[key] = Entry(" ".join(parts), path, line)
        return i

    def _skip_field(self, tokens: list[Token], i: int) -> int:
        """Skip to the end of the field, over any brackets."""
        depth = 0
        while i < len(tokens):
            text = tokens[i].text if tokens[i].kind == "sym" else ""
            if depth == 0 and (tokens[i].kind == "nl" or text in (",", "}")):
                return i
            if text in ("{", "["):
                depth += 1
            elif text in ("}", "]"):
                depth -= 1
            i += 1
        return i

    def _include(self, tokens: list[Token], i: int, prefix: tuple[str, ...], path: Path) -> int:
        """`include "f"`, `include file("f")`, `include required("f")`: relative to this file."""
        wrapper: list[str] = []
        name: str | None = None
        line = tokens[i - 1].line
        while i < len(tokens) and tokens[i].kind != "nl" and tokens[i].line == line:
            if tokens[i].kind == "str" and name is None:
                name = tokens[i].text
            elif name is None:
                wrapper.append(tokens[i].text)
            i += 1
        opening = "".join(wrapper)
        if name is None or "url(" in opening or "classpath(" in opening:
            return i  # not a file on this machine
        target = Path(name)
        if not target.is_absolute():
            target = Path(os.path.normpath(path.parent / target))
        self.read(target, prefix, required="required(" in opening)
        return i


def _hocon_key(tokens: list[Token]) -> tuple[str, ...]:
    """A HOCON key path: unquoted parts split at dots, quoted parts taken literally."""
    parts = [""]
    for token in tokens:
        if token.kind == "str":
            parts[-1] += token.text
        else:
            pieces = token.text.split(".")
            parts[-1] += pieces[0]
            parts.extend(pieces[1:])
    return tuple(part for part in parts if part)
