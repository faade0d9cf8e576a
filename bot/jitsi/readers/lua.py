"""Prosody's Lua config: the settings of each VirtualHost and Component, following Include."""

from __future__ import annotations

import fnmatch
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from bot.jitsi.readers.source import Entry, FilesRead, Token, scan

_LUA_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<long_comment>--\[(?P<eqc>=*)\[.*?\](?P=eqc)\])
  | (?P<comment>--[^\n]*)
  | (?P<long_string>\[(?P<eqs>=*)\[.*?\](?P=eqs)\])
  | (?P<string>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')
  | (?P<number>0[xX][0-9a-fA-F]+|\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<symbol>\.\.\.|\.\.|==|~=|<=|>=|::|.)
    """,
    re.VERBOSE | re.DOTALL,
)
_LUA_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\n": "\n"}
_LUA_OPERATORS = frozenset(
    {"..", "or", "and", "+", "-", "*", "/", "%", "^", "==", "~=", "<", ">", "<=", ">=", "(", "[",
     ".", ":"}
)  # fmt: skip


def _lua_tokens(text: str) -> list[Token]:
    """Lua tokens without comments; strings are unescaped."""
    tokens: list[Token] = []
    for kind, raw, line, end in scan(_LUA_TOKEN, text, "symbol"):
        if kind in ("long_comment", "comment", "space"):
            pass
        elif kind == "long_string":
            body = raw[raw.index("[", 1) + 1 : raw.rindex("]", 0, -1)]
            tokens.append(Token("str", body.removeprefix("\n"), line, end))
        elif kind == "string":
            body = re.sub(
                r"\\(.)", lambda m: _LUA_ESCAPES.get(m.group(1), m.group(1)), raw[1:-1], flags=re.S
            )
            tokens.append(Token("str", body, line, end))
        elif kind in ("number", "name"):
            tokens.append(Token("num" if kind == "number" else "name", raw, line, end))
        else:
            tokens.append(Token("sym", raw, line, end))
    return tokens


@dataclass(frozen=True)
class Table:
    """A Lua table constructor's plain string items, each with its line (keyed fields dropped)."""

    items: tuple[Entry, ...]

    def texts(self) -> list[str]:
        """The string items."""
        return [item.value for item in self.items]


LuaValue = str | bool | float | Table | None


@dataclass(frozen=True)
class Setting:
    """`name = value` in a Prosody config; value None means an expression not evaluated here."""

    name: str
    value: LuaValue
    file: Path
    line: int

    def strings(self) -> list[str]:
        """The value as Prosody's get_option_array would see it: a list of strings."""
        if isinstance(self.value, Table):
            return self.value.texts()
        return [self.value] if isinstance(self.value, str) else []

    def item_line(self, text: str) -> int:
        """The line of one string item of a table value (the setting's line if not a table)."""
        if isinstance(self.value, Table):
            for item in self.value.items:
                if item.value == text:
                    return item.line
        return self.line

    def is_true(self) -> bool:
        """Prosody's get_option_boolean: true, or the string "true"."""
        return self.value is True or (isinstance(self.value, str) and self.value.lower() == "true")


@dataclass
class Section:
    """The global section, a VirtualHost or a Component, with the settings made in it."""

    kind: str
    name: str
    file: Path
    line: int
    module: str | None = None
    settings: dict[str, Setting] = field(default_factory=dict)


@dataclass
class ProsodyConfig:
    """Every section read from the Prosody files, merged the way Prosody merges them."""

    global_section: Section
    sections: dict[str, Section] = field(default_factory=dict)

    def option(self, section: Section, name: str) -> Setting | None:
        """A host's option, falling back to the global section as Prosody does."""
        return section.settings.get(name) or self.global_section.settings.get(name)

    def modules(self, section: Section) -> Setting | None:
        """A section's modules_enabled; components don't inherit the global list."""
        if section.kind == "Component":
            return section.settings.get("modules_enabled")
        return self.option(section, "modules_enabled")

    def virtual_hosts(self) -> list[Section]:
        """All VirtualHost sections, in the order they were first seen."""
        return [section for section in self.sections.values() if section.kind == "VirtualHost"]


def _string_arg(tokens: list[Token], i: int) -> tuple[str, int] | None:
    """A call's single string argument, written `f "x"` or `f("x")`."""
    if i < len(tokens) and tokens[i].kind == "str":
        return tokens[i].text, i + 1
    if (
        i + 2 < len(tokens)
        and tokens[i].text == "("
        and tokens[i + 1].kind == "str"
        and tokens[i + 2].text == ")"
    ):
        return tokens[i + 1].text, i + 3
    return None


def _skip_expression(tokens: list[Token], i: int, in_table: bool) -> int:
    """Skip an expression this reader does not evaluate: to the next line (or item, in a table)."""
    depth = 0
    j = i
    while j < len(tokens):
        token = tokens[j]
        if depth == 0:
            if in_table and token.kind == "sym" and token.text in ",;}":
                return j
            # Without a Lua parser, a new line at bracket depth 0 is the best statement boundary.
            if not in_table and j > i and token.line > tokens[j - 1].end:
                return j
        if token.kind == "sym" and token.text in "({[":
            depth += 1
        elif token.kind == "sym" and token.text in ")}]":
            depth = max(0, depth - 1)
        j += 1
    return j


def _parse_table(tokens: list[Token], i: int) -> tuple[Table, int]:
    """`{ "a"; "b", k = v }` starting at the `{`: the string items, and the index after `}`."""
    items: list[Entry] = []
    j = i + 1
    while j < len(tokens):
        token = tokens[j]
        if token.kind == "sym" and token.text == "}":
            return Table(tuple(items)), j + 1
        if token.kind == "sym" and token.text in ",;":
            j += 1
        elif token.kind == "name" and j + 1 < len(tokens) and tokens[j + 1].text == "=":
            _, j = _parse_value(tokens, j + 2, in_table=True)
        elif token.kind == "sym" and token.text == "[":
            j = _skip_expression(tokens, j, in_table=True)
        else:
            value, j = _parse_value(tokens, j, in_table=True)
            if isinstance(value, str):
                items.append(Entry(value, Path(), token.line))
    return Table(tuple(items)), j


def _parse_value(tokens: list[Token], i: int, in_table: bool) -> tuple[LuaValue, int]:
    """A literal value (string, number, boolean, table) or None for anything else."""
    if i >= len(tokens):
        return None, i
    token = tokens[i]
    value: LuaValue
    if token.kind == "str":
        value, j = token.text, i + 1
    elif token.kind == "num":
        try:
            value = (
                float(int(token.text, 16)) if token.text[:2] in ("0x", "0X") else float(token.text)
            )
        except ValueError:
            value = None
        j = i + 1
    elif token.kind == "name" and token.text in ("true", "false", "nil"):
        value = {"true": True, "false": False, "nil": None}[token.text]
        j = i + 1
    elif token.kind == "sym" and token.text == "{":
        value, j = _parse_table(tokens, i)
    else:
        return None, _skip_expression(tokens, i, in_table)
    # `"a" .. "b"`, `x or y`: an expression, not a literal.
    if (
        j < len(tokens)
        and tokens[j].kind in ("sym", "name")
        and tokens[j].text in _LUA_OPERATORS
        and tokens[j].line == tokens[j - 1].end
    ):
        return None, _skip_expression(tokens, j, in_table)
    return value, j


class ProsodyReader:
    """Reads Prosody config files, following Include, into one ProsodyConfig."""

    def __init__(self, files: FilesRead) -> None:
        self.files = files
        self.config = ProsodyConfig(Section("global", "*", Path(), 0))
        self.seen: set[Path] = set()

    def read(self, path: Path) -> None:
        """Read one file (once, however often it is listed or included)."""
        key = path.resolve()
        if key in self.seen:
            return
        self.seen.add(key)
        text = self.files.read_text(path)
        if text is None:
            return
        tokens = _lua_tokens(text)
        # Prosody runs each file, included ones too, in a fresh scope that starts global.
        current = self.config.global_section
        i = 0
        while i < len(tokens):
            token = tokens[i]
            word = token.text if token.kind == "name" else ""
            argument = _string_arg(tokens, i + 1) if word else None
            if word in ("VirtualHost", "Host", "host", "Component", "component") and argument:
                name, i = argument
                kind = "Component" if word.lower() == "component" else "VirtualHost"
                module = None
                if kind == "Component" and i < len(tokens) and tokens[i].line == token.line:
                    typed = _string_arg(tokens, i)
                    if typed:
                        module, i = typed
                current = self.config.sections.setdefault(
                    name.lower(), Section(kind, name, path, token.line, module)
                )
            elif word in ("Include", "include") and argument:
                pattern, i = argument
                self._include(path, pattern)
            elif (
                word
                and word != "local"
                and i + 1 < len(tokens)
                and tokens[i + 1].text == "="
                and tokens[i + 1].kind == "sym"
            ):
                value, i = _parse_value(tokens, i + 2, in_table=False)
                if isinstance(value, Table):
                    value = Table(tuple(Entry(e.value, path, e.line) for e in value.items))
                current.settings[word] = Setting(word, value, path, token.line)
            else:
                i = _skip_expression(tokens, i, in_table=False)

    def _include(self, including: Path, pattern: str) -> None:
        """Prosody's Include: relative to the including file, a glob in the file name only."""
        target = Path(pattern)
        if not target.is_absolute():
            # normpath only tidies "a/../b" for the report; symlinks stay as the admin wrote them.
            target = Path(os.path.normpath(including.parent / target))
        if not any(char in target.name for char in "*?["):
            self.read(target)
            return
        try:
            names = sorted(entry.name for entry in target.parent.iterdir())
        except OSError as error:
            self.files.unreadable.append((target.parent, error.strerror or str(error)))
            return
        for name in names:
            if not name.startswith(".") and fnmatch.fnmatchcase(name, target.name):
                self.read(target.parent / name)
