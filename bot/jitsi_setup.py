"""Jitsi server setup: print the Prosody/Jicofo settings the bot needs, and check real ones."""

from __future__ import annotations

import argparse
import fnmatch
import hashlib
import hmac
import json
import os
import re
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bot.config import Settings

SECRET_PLACEHOLDER = "<your JITSI_APP_SECRET>"
BOT_USERNAME_PLACEHOLDER = "<your_bot_username>"
SECTION_MARK = "====="

# Telegram usernames: 5-32 characters, letters, digits and underscores, starting with a letter.
_BOT_USERNAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{4,31}")

# Modules that give owners their role from the token (Jitsi's own, jitsi-contrib's old copy, and
# the third-party module that reads the top-level "moderator" claim).
_AFFILIATION_MODULES = ("token_affiliation", "token_affiliation_legacy", "token_moderation")

# VirtualHosts of a Jitsi install that are never the one users log in to with a token.
_SERVICE_HOST_PREFIXES = ("auth.", "guest.", "recorder.", "hidden.", "focus.", "jigasi.", "jibri.")


# Findings ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """One problem in a Jitsi config file: where it is, what users see, and how to fix it."""

    file: Path
    line: int | None
    problem: str
    effect: str
    fix: str
    severity: str = "error"

    @property
    def location(self) -> str:
        """`file:line`, or only the file when the problem is a setting that is missing."""
        return f"{self.file}:{self.line}" if self.line else f"{self.file} (missing setting)"


@dataclass
class CheckReport:
    """Everything check_server_config found, plus the files it read and could not read."""

    findings: list[Finding] = field(default_factory=list)
    unreadable: list[tuple[Path, str]] = field(default_factory=list)
    checked: list[Path] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """0 when clean, 1 when there are findings, 2 when a file could not be read."""
        if self.unreadable:
            return 2
        return 1 if self.findings else 0

    def add(
        self,
        file: Path,
        line: int | None,
        problem: str,
        effect: str,
        fix: str,
        severity: str = "error",
    ) -> None:
        """Record one finding."""
        self.findings.append(Finding(file, line, problem, effect, fix, severity))


@dataclass(frozen=True)
class _Entry:
    """A value read from a HOCON, properties or JavaScript file, with where it was written."""

    value: str
    file: Path
    line: int


def _read_text(path: Path, report: CheckReport) -> str | None:
    """The file's text, or None after recording why it can't be read."""
    try:
        # Config keywords are ASCII; a Latin-1 comment must not make a valid file "unreadable".
        text = path.read_bytes().decode("utf-8", errors="replace")
    except OSError as error:
        report.unreadable.append((path, error.strerror or str(error)))
        return None
    report.checked.append(path)
    return text.removeprefix("\ufeff")


# Prosody (Lua) -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Tok:
    """A token: kind is name, str, num, sym (HOCON adds word, nl, subst); line is 1-based."""

    kind: str
    text: str
    line: int
    end: int


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


def _lua_tokens(text: str) -> list[_Tok]:
    """Lua tokens without comments; strings are unescaped."""
    tokens: list[_Tok] = []
    line = 1
    for match in _LUA_TOKEN.finditer(text):
        kind = match.lastgroup or "symbol"
        raw = match.group()
        end = line + raw.count("\n")
        if kind in ("long_comment", "comment", "space"):
            pass
        elif kind == "long_string":
            body = raw[raw.index("[", 1) + 1 : raw.rindex("]", 0, -1)]
            tokens.append(_Tok("str", body.removeprefix("\n"), line, end))
        elif kind == "string":
            body = re.sub(
                r"\\(.)", lambda m: _LUA_ESCAPES.get(m.group(1), m.group(1)), raw[1:-1], flags=re.S
            )
            tokens.append(_Tok("str", body, line, end))
        elif kind in ("number", "name"):
            tokens.append(_Tok("num" if kind == "number" else "name", raw, line, end))
        else:
            tokens.append(_Tok("sym", raw, line, end))
        line = end
    return tokens


@dataclass(frozen=True)
class _Table:
    """A Lua table constructor's plain string items, each with its line (keyed fields dropped)."""

    items: tuple[_Entry, ...]

    def texts(self) -> list[str]:
        """The string items."""
        return [item.value for item in self.items]


_LuaValue = str | bool | float | _Table | None


@dataclass(frozen=True)
class _Setting:
    """`name = value` in a Prosody config; value None means an expression not evaluated here."""

    name: str
    value: _LuaValue
    file: Path
    line: int

    def strings(self) -> list[str]:
        """The value as Prosody's get_option_array would see it: a list of strings."""
        if isinstance(self.value, _Table):
            return self.value.texts()
        return [self.value] if isinstance(self.value, str) else []

    def item_line(self, text: str) -> int:
        """The line of one string item of a table value (the setting's line if not a table)."""
        if isinstance(self.value, _Table):
            for item in self.value.items:
                if item.value == text:
                    return item.line
        return self.line

    def is_true(self) -> bool:
        """Prosody's get_option_boolean: true, or the string "true"."""
        return self.value is True or (isinstance(self.value, str) and self.value.lower() == "true")


@dataclass
class _Section:
    """The global section, a VirtualHost or a Component, with the settings made in it."""

    kind: str
    name: str
    file: Path
    line: int
    module: str | None = None
    settings: dict[str, _Setting] = field(default_factory=dict)


@dataclass
class _Prosody:
    """Every section read from the Prosody files, merged the way Prosody merges them."""

    global_section: _Section
    sections: dict[str, _Section] = field(default_factory=dict)

    def option(self, section: _Section, name: str) -> _Setting | None:
        """A host's option, falling back to the global section as Prosody does."""
        return section.settings.get(name) or self.global_section.settings.get(name)

    def modules(self, section: _Section) -> _Setting | None:
        """A section's modules_enabled; components don't inherit the global list."""
        if section.kind == "Component":
            return section.settings.get("modules_enabled")
        return self.option(section, "modules_enabled")

    def virtual_hosts(self) -> list[_Section]:
        """All VirtualHost sections, in the order they were first seen."""
        return [section for section in self.sections.values() if section.kind == "VirtualHost"]


def _string_arg(tokens: list[_Tok], i: int) -> tuple[str, int] | None:
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


def _skip_expression(tokens: list[_Tok], i: int, in_table: bool) -> int:
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


def _parse_table(tokens: list[_Tok], i: int) -> tuple[_Table, int]:
    """`{ "a"; "b", k = v }` starting at the `{`: the string items, and the index after `}`."""
    items: list[_Entry] = []
    j = i + 1
    while j < len(tokens):
        token = tokens[j]
        if token.kind == "sym" and token.text == "}":
            return _Table(tuple(items)), j + 1
        if token.kind == "sym" and token.text in ",;":
            j += 1
        elif token.kind == "name" and j + 1 < len(tokens) and tokens[j + 1].text == "=":
            _, j = _parse_value(tokens, j + 2, in_table=True)
        elif token.kind == "sym" and token.text == "[":
            j = _skip_expression(tokens, j, in_table=True)
        else:
            value, j = _parse_value(tokens, j, in_table=True)
            if isinstance(value, str):
                items.append(_Entry(value, Path(), token.line))
    return _Table(tuple(items)), j


def _parse_value(tokens: list[_Tok], i: int, in_table: bool) -> tuple[_LuaValue, int]:
    """A literal value (string, number, boolean, table) or None for anything else."""
    if i >= len(tokens):
        return None, i
    token = tokens[i]
    value: _LuaValue
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


class _ProsodyReader:
    """Reads Prosody config files, following Include, into one _Prosody."""

    def __init__(self, report: CheckReport) -> None:
        self.report = report
        self.config = _Prosody(_Section("global", "*", Path(), 0))
        self.seen: set[Path] = set()

    def read(self, path: Path) -> None:
        """Read one file (once, however often it is listed or included)."""
        key = path.resolve()
        if key in self.seen:
            return
        self.seen.add(key)
        text = _read_text(path, self.report)
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
                    name.lower(), _Section(kind, name, path, token.line, module)
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
                if isinstance(value, _Table):
                    value = _Table(tuple(_Entry(e.value, path, e.line) for e in value.items))
                current.settings[word] = _Setting(word, value, path, token.line)
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
            self.report.unreadable.append((target.parent, error.strerror or str(error)))
            return
        for name in names:
            if not name.startswith(".") and fnmatch.fnmatchcase(name, target.name):
                self.read(target.parent / name)


# Jicofo: HOCON and Java properties ------------------------------------------------------------


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


def _hocon_tokens(text: str) -> list[_Tok]:
    """HOCON tokens without comments or spaces; newlines kept (they separate fields)."""
    tokens: list[_Tok] = []
    line = 1
    for match in _HOCON_TOKEN.finditer(text):
        kind = match.lastgroup or "other"
        raw = match.group()
        end = line + raw.count("\n")
        if kind == "triple":
            tokens.append(_Tok("str", raw[3:-3], line, end))
        elif kind == "str":
            try:
                tokens.append(_Tok("str", str(json.loads(raw)), line, end))
            except ValueError:
                tokens.append(_Tok("str", raw[1:-1], line, end))
        elif kind not in ("space", "comment"):
            tokens.append(_Tok("word" if kind == "other" else kind, raw, line, end))
        line = end
    return tokens


def _hocon_bool(text: str) -> bool | None:
    """A HOCON boolean (true/yes/on, false/no/off), or None for anything else."""
    lowered = text.strip().lower()
    if lowered in ("true", "yes", "on"):
        return True
    if lowered in ("false", "no", "off"):
        return False
    return None


@dataclass
class _Jicofo:
    """Jicofo's settings: jicofo.conf paths (dotted) and sip-communicator.properties keys."""

    hocon: dict[tuple[str, ...], _Entry] = field(default_factory=dict)
    objects: dict[tuple[str, ...], _Entry] = field(default_factory=dict)
    properties: dict[str, _Entry] = field(default_factory=dict)
    hocon_files: list[Path] = field(default_factory=list)
    properties_files: list[Path] = field(default_factory=list)

    def get(self, dotted: str) -> _Entry | None:
        """A jicofo.conf value by its dotted path."""
        return self.hocon.get(tuple(dotted.split(".")))


class _HoconReader:
    """Reads HOCON files into flat dotted paths: nesting, dotted keys and include handled."""

    def __init__(self, target: _Jicofo, report: CheckReport) -> None:
        self.target = target
        self.report = report
        self.active: list[Path] = []

    def read(self, path: Path, prefix: tuple[str, ...] = (), required: bool = True) -> None:
        """Read a file whose fields belong under prefix."""
        key = path.resolve()
        if key in self.active:
            return  # an include loop; HOCON itself would fail, reading it once is enough here
        if not required and not path.exists():
            return  # HOCON silently skips a missing include unless it is required(...)
        text = _read_text(path, self.report)
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

    def _object(self, tokens: list[_Tok], i: int, prefix: tuple[str, ...], path: Path) -> int:
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
            key_tokens: list[_Tok] = []
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
                self.target.objects[key] = _Entry("{", path, token.line)
                i = self._object(tokens, j + 1, key, path)
            elif j < len(tokens) and tokens[j].text == "[":
                self.target.hocon[key] = _Entry("[...]", path, token.line)
                i = self._skip_field(tokens, j)
            elif separator.text in ("=", ":", "+="):
                i = self._value(tokens, j, key, path, token.line)
            else:
                i = self._skip_field(tokens, j)
        return i

    def _value(
        self, tokens: list[_Tok], i: int, key: tuple[str, ...], path: Path, line: int
    ) -> int:
        """A simple value: the tokens up to the end of the field, joined."""
        parts: list[str] = []
        while i < len(tokens) and tokens[i].kind != "nl" and tokens[i].text not in (",", "}"):
            parts.append(tokens[i].text)
            i += 1
        self.target.hocon[key] = _Entry(" ".join(parts), path, line)
        return i

    def _skip_field(self, tokens: list[_Tok], i: int) -> int:
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

    def _include(self, tokens: list[_Tok], i: int, prefix: tuple[str, ...], path: Path) -> int:
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


def _hocon_key(tokens: list[_Tok]) -> tuple[str, ...]:
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


def _read_properties(path: Path, target: _Jicofo, report: CheckReport) -> None:
    """Java .properties: `#`/`!` comments, `=`, `:` or space separators, `\\` continuations."""
    text = _read_text(path, report)
    if text is None:
        return
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
            target.properties[key] = _Entry(value, path, number)


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


# Web client: config.js -------------------------------------------------------------------------


_JS_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<comment>//[^\n]*|/\*.*?\*/)
  | (?P<str>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|`(?:[^`\\]|\\.)*`)
  | (?P<name>[A-Za-z_$][\w$]*)
  | (?P<num>\d[\w.]*)
  | (?P<sym>===|!==|==|!=|=>|&&|\|\||\?\?|\.\.\.|.)
    """,
    re.VERBOSE | re.DOTALL,
)


def _js_tokens(text: str) -> list[_Tok]:
    """JavaScript tokens without comments; string quotes stripped."""
    tokens: list[_Tok] = []
    line = 1
    for match in _JS_TOKEN.finditer(text):
        kind = match.lastgroup or "sym"
        raw = match.group()
        end = line + raw.count("\n")
        if kind == "str":
            tokens.append(_Tok("str", raw[1:-1], line, end))
        elif kind not in ("space", "comment"):
            tokens.append(_Tok(kind, raw, line, end))
        line = end
    return tokens


def _read_web_hosts(path: Path, report: CheckReport) -> dict[str, _Entry] | None:
    """config.js `hosts` entries: `hosts: { domain: '...' }` or `config.hosts.domain = '...'`."""
    text = _read_text(path, report)
    if text is None:
        return None
    tokens = _js_tokens(text)
    hosts: dict[str, _Entry] = {}
    stack: list[tuple[str, ...]] = []

    def record(keys: tuple[str, ...], at: int) -> None:
        full = tuple(part for frame in stack for part in frame) + keys
        follower = tokens[at + 1].text if at + 1 < len(tokens) else ""
        # `'conference.' + subdir + 'meet.example.com'` is an expression, not the value.
        if len(full) >= 2 and full[-2] == "hosts" and follower != "+":
            hosts[full[-1]] = _Entry(tokens[at].text, path, tokens[at].line)

    i = 0
    while i < len(tokens):
        token = tokens[i]
        after = tokens[i + 1] if i + 1 < len(tokens) else None
        if (
            token.kind in ("name", "str")
            and after is not None
            and after.kind == "sym"
            and after.text == ":"
        ):
            value = tokens[i + 2] if i + 2 < len(tokens) else None
            if value is not None and value.text == "{" and value.kind == "sym":
                stack.append((token.text,))
                i += 3
                continue
            if value is not None and value.kind == "str":
                record((token.text,), i + 2)
            i += 2
            continue
        if token.kind == "name":
            chain = [token.text]
            j = i + 1
            while j + 1 < len(tokens) and tokens[j].text == "." and tokens[j + 1].kind == "name":
                chain.append(tokens[j + 1].text)
                j += 2
            if j + 1 < len(tokens) and tokens[j].text == "=" and tokens[j].kind == "sym":
                value = tokens[j + 1]
                if value.kind == "sym" and value.text == "{":
                    stack.append(tuple(chain))
                elif value.kind == "str":
                    record(tuple(chain), j + 1)
                i = j + 2
                continue
        if token.kind == "sym" and token.text == "{":
            stack.append(())
        elif token.kind == "sym" and token.text == "}" and stack:
            stack.pop()
        i += 1
    return hosts


# The check ---------------------------------------------------------------------------------------


def _xmpp_domain(settings: Settings) -> str:
    """The XMPP domain the bot assumes: JITSI_DOMAIN, else the web host."""
    return settings.jitsi_domain or settings.jitsi_host


@dataclass
class _ProsodyFacts:
    """What the Jicofo and web checks need to know from the Prosody check."""

    host: _Section | None = None
    affiliation_on_muc: bool = False
    domain_reported: bool = False


def check_server_config(
    settings: Settings,
    *,
    prosody: Sequence[Path],
    jicofo: Sequence[Path],
    web_config: Path | None,
) -> CheckReport:
    """Read the Jitsi config files; report every pitfall and mismatch with the bot's settings."""
    report = CheckReport()
    facts = _ProsodyFacts()
    if prosody:
        reader = _ProsodyReader(report)
        for path in prosody:
            reader.read(path)
        facts = _check_prosody(settings, reader.config, Path(prosody[0]), report)
    if jicofo:
        config = _Jicofo()
        hocon = _HoconReader(config, report)
        for path in jicofo:
            if path.suffix == ".properties":
                config.properties_files.append(path)
                _read_properties(path, config, report)
            else:
                config.hocon_files.append(path)
                hocon.read(path)
        _check_jicofo(settings, config, facts, report)
    if web_config is not None:
        hosts = _read_web_hosts(web_config, report)
        if hosts is not None:
            _check_web(settings, hosts, facts, report)
    return report


def _pick_host(config: _Prosody, domain: str) -> _Section | None:
    """The VirtualHost users log in to: the bot's domain, else the token one, else the first."""
    hosts = config.virtual_hosts()
    for host in hosts:
        if host.name.lower() == domain.lower():
            return host
    for host in hosts:
        setting = config.option(host, "authentication")
        if setting is not None and setting.value == "token":
            return host
    for host in hosts:
        if not host.name.lower().startswith(_SERVICE_HOST_PREFIXES) and host.name != "localhost":
            return host
    return None


def _component(config: _Prosody, host: _Section, option: str, *names: str) -> _Section | None:
    """The component a host option names (main_muc, breakout_rooms_muc), else a usual name."""
    setting = config.option(host, option)
    candidates = [setting.value] if setting is not None and isinstance(setting.value, str) else []
    candidates += [f"{name}.{host.name}" for name in names]
    for candidate in candidates:
        section = config.sections.get(candidate.lower())
        if section is not None and section.kind == "Component":
            return section
    return None


def _check_prosody(
    settings: Settings, config: _Prosody, first_file: Path, report: CheckReport
) -> _ProsodyFacts:
    """The VirtualHost, the conference MUC and the breakout MUC."""
    facts = _ProsodyFacts()
    domain = _xmpp_domain(settings)
    host = _pick_host(config, domain)
    facts.host = host
    if host is None:
        if report.checked:
            report.add(
                first_file,
                None,
                f'no VirtualHost found in the Prosody files read (expected "{domain}")',
                "nothing can be checked, and Jitsi cannot verify the bot's tokens without it",
                "pass the file with the Jitsi VirtualHost (Debian: /etc/prosody/conf.d/"
                f"{domain}.cfg.lua) with --prosody",
            )
        return facts
    _check_host_auth(settings, config, host, report)
    _check_host_signing(settings, config, host, report)
    facts.domain_reported = _check_host_domain(settings, config, host, report)
    muc = _component(config, host, "main_muc", "conference", "muc")
    if muc is None:
        report.add(
            host.file,
            host.line,
            f'no conference MUC component for VirtualHost "{host.name}" in the files read',
            "whether the token decides rooms and roles (token_verification, token_affiliation) "
            "cannot be checked",
            f'pass the file that declares Component "conference.{host.name}" "muc" with --prosody',
            severity="warning",
        )
    else:
        facts.affiliation_on_muc = _check_muc(config, muc, report)
    breakout = _component(config, host, "breakout_rooms_muc", "breakout")
    if breakout is not None:
        _check_breakout(config, breakout, report)
    return facts


def _check_host_auth(
    settings: Settings, config: _Prosody, host: _Section, report: CheckReport
) -> None:
    """authentication, allow_empty_token, app_id/issuers and audiences of the VirtualHost."""
    # A value of None is an expression (os.getenv(...) and the like): unknown, so not judged.
    auth = config.option(host, "authentication")
    if auth is None or (auth.value is not None and auth.value != "token"):
        shown = f'"{auth.value}"' if auth is not None and isinstance(auth.value, str) else "unset"
        report.add(
            auth.file if auth is not None else host.file,
            auth.line if auth is not None else host.line,
            f'VirtualHost "{host.name}" has authentication = {shown}, not "token"',
            "Jitsi ignores the bot's links: people join without a token (or get a password "
            "prompt), and nobody gets the role the bot gave them",
            f'set authentication = "token" in VirtualHost "{host.name}" (Debian: install '
            "jitsi-meet-tokens; Docker: ENABLE_AUTH=1, AUTH_TYPE=jwt), restart prosody",
        )
    empty = config.option(host, "allow_empty_token")
    if empty is not None and empty.is_true():
        report.add(
            empty.file,
            empty.line,
            "allow_empty_token = true",
            "anyone who opens https://<server>/<room> without a token gets in; personal links "
            "protect nothing",
            "set allow_empty_token = false (Docker: JWT_ALLOW_EMPTY=0), restart prosody",
        )
    issuer = settings.jitsi_app_id
    app_id = config.option(host, "app_id")
    issuers = config.option(host, "asap_accepted_issuers")
    if app_id is None or app_id.value == "" or isinstance(app_id.value, bool | float | _Table):
        report.add(
            app_id.file if app_id is not None else host.file,
            app_id.line if app_id is not None else host.line,
            f'VirtualHost "{host.name}" has no app_id',
            "Prosody's token module does not start: every login with a token fails",
            f'add app_id = "{issuer}" to VirtualHost "{host.name}"',
        )
    elif issuers is None and isinstance(app_id.value, str) and app_id.value != issuer:
        report.add(
            app_id.file,
            app_id.line,
            f'app_id = "{app_id.value}", but the bot signs its tokens as iss = "{issuer}" '
            "(JITSI_APP_ID)",
            "Prosody accepts only iss equal to app_id: every link fails with 'Invalid issuer'",
            f'set JITSI_APP_ID={app_id.value} in the bot\'s environment, or app_id = "{issuer}" '
            "in Prosody",
        )
    if issuers is not None and issuers.value is not None and issuer not in issuers.strings():
        report.add(
            issuers.file,
            issuers.line,
            f'asap_accepted_issuers does not list the bot\'s iss "{issuer}" (JITSI_APP_ID)',
            "every link from the bot fails with 'Invalid issuer'",
            f'add "{issuer}" to asap_accepted_issuers (Docker: JWT_ACCEPTED_ISSUERS)',
        )
    audiences = config.option(host, "asap_accepted_audiences")
    audience = settings.token_audience
    if audiences is not None and audiences.value is not None:
        accepted = audiences.strings()
        if "*" not in accepted and audience not in accepted:
            listed = ", ".join(f'"{value}"' for value in accepted) or "nothing"
            report.add(
                audiences.file,
                audiences.line,
                f'asap_accepted_audiences accepts {listed}, not the bot\'s aud "{audience}"',
                "every link from the bot fails with 'Invalid audience'",
                f'add "{audience}" to asap_accepted_audiences (Docker: JWT_ACCEPTED_AUDIENCES), '
                f"or set JITSI_AUDIENCE to one of {listed} for the bot",
            )


def _check_host_signing(
    settings: Settings, config: _Prosody, host: _Section, report: CheckReport
) -> None:
    """The signing algorithm and, for HS256, the shared secret itself (never printed)."""
    secret = config.option(host, "app_secret")
    key_server = config.option(host, "asap_key_server")
    algorithm = config.option(host, "signature_algorithm")
    declared = algorithm.value.upper() if algorithm and isinstance(algorithm.value, str) else None
    bot = settings.signing_algorithm
    if bot.startswith("HS"):
        if key_server is not None:
            report.add(
                key_server.file,
                key_server.line,
                "asap_key_server is set: Prosody expects RS256 tokens and fetches their public "
                f"key, but the bot signs {bot} with JITSI_APP_SECRET",
                "every link fails: the token has no key id and its signature does not verify",
                "remove asap_key_server (and signature_algorithm) from Prosody, or give the bot "
                "JITSI_PRIVATE_KEY_FILE and JITSI_KEY_ID instead of JITSI_APP_SECRET",
            )
            return
        if secret is None:
            report.add(
                host.file,
                host.line,
                f'VirtualHost "{host.name}" has neither app_secret nor asap_key_server',
                "Prosody's token module does not start: every login with a token fails",
                "add the app_secret line that `python -m bot jitsi-config --reveal-secret` prints",
            )
            return
        if declared is not None and declared != bot:
            report.add(
                algorithm.file if algorithm else host.file,
                algorithm.line if algorithm else host.line,
                f'signature_algorithm = "{declared}", but the bot signs {bot}',
                "every link fails the signature check",
                f'remove signature_algorithm (HS256 is the default) or set it to "{bot}"',
            )
            return
        _compare_secret(settings, secret, report)
        return
    if key_server is None:
        report.add(
            secret.file if secret is not None else host.file,
            secret.line if secret is not None else host.line,
            f"the bot signs {bot} with JITSI_PRIVATE_KEY_FILE, but Prosody has no "
            "asap_key_server and verifies with app_secret (HS256)",
            "every link fails the signature check",
            "set asap_key_server to where the public key is published and "
            f'signature_algorithm = "{bot}" (see `python -m bot jitsi-config`), or give the bot '
            "JITSI_APP_SECRET instead",
        )
    elif declared is not None and declared != bot:
        report.add(
            algorithm.file if algorithm else host.file,
            algorithm.line if algorithm else host.line,
            f'signature_algorithm = "{declared}", but the bot signs {bot}',
            "every link fails the signature check",
            f'set signature_algorithm = "{bot}"',
        )


def _compare_secret(settings: Settings, secret: _Setting, report: CheckReport) -> None:
    """app_secret against JITSI_APP_SECRET, in constant time; neither value is ever printed."""
    if not isinstance(secret.value, str) or settings.jitsi_app_secret is None:
        return  # an expression such as os.getenv(...): nothing to compare here
    if secret.value == SECRET_PLACEHOLDER:
        report.add(
            secret.file,
            secret.line,
            f'app_secret is still the placeholder "{SECRET_PLACEHOLDER}"',
            "every link fails the signature check",
            "put the value of JITSI_APP_SECRET there, or print the line with "
            "`python -m bot jitsi-config --reveal-secret`",
        )
        return
    expected = settings.jitsi_app_secret.get_secret_value().encode()
    if not hmac.compare_digest(secret.value.encode(), expected):
        report.add(
            secret.file,
            secret.line,
            "app_secret differs from the bot's JITSI_APP_SECRET (values not shown)",
            "every link fails the signature check: users land on the auth error page",
            "make them the same: `python -m bot jitsi-config --reveal-secret` prints the line "
            "Prosody needs; restart prosody",
        )


def _check_host_domain(
    settings: Settings, config: _Prosody, host: _Section, report: CheckReport
) -> bool:
    """The token's sub against the domain Prosody verifies it with; True if a finding was made."""
    verification = config.option(host, "enable_domain_verification")
    if verification is not None and verification.value is False:
        return False  # sub is not compared at all
    base = config.option(host, "muc_mapper_domain_base")
    base_name = base.value if base is not None and isinstance(base.value, str) else None
    if settings.jitsi_tenant:
        if base_name is None:
            report.add(
                host.file,
                host.line,
                f'JITSI_BASE_URL has a tenant ("{settings.jitsi_tenant}") but no '
                "muc_mapper_domain_base is set",
                "with domain verification Prosody refuses every join under "
                f"https://{settings.jitsi_host}/{settings.jitsi_tenant}/",
                f'add muc_mapper_domain_base = "{host.name}" at the top (global section) and '
                '"muc_domain_mapper" to the conference MUC\'s modules_enabled',
            )
            return True
        return False
    subject = settings.token_subject.lower()
    if host.name.lower() != subject:
        report.add(
            host.file,
            host.line,
            f'the XMPP domain is "{host.name}", but the bot\'s tokens carry sub = '
            f'"{settings.token_subject}"',
            "with domain verification every join is refused: users land on the auth error page",
            f"set JITSI_DOMAIN={host.name} for the bot"
            + (
                " (a Docker install: its XMPP domain is meet.jitsi, not the web host)"
                if host.name.lower() == "meet.jitsi"
                else ""
            ),
        )
        return True
    if base is not None and base_name is not None and base_name.lower() != subject:
        report.add(
            base.file,
            base.line,
            f'muc_mapper_domain_base = "{base_name}", but the bot\'s tokens carry sub = '
            f'"{settings.token_subject}"',
            "with domain verification every join is refused: users land on the auth error page",
            f'set muc_mapper_domain_base = "{host.name}" (the VirtualHost), or JITSI_DOMAIN='
            f"{base_name} for the bot",
        )
        return True
    return False


def _check_muc(config: _Prosody, muc: _Section, report: CheckReport) -> bool:
    """The conference MUC's modules; True when a module sets roles from the token."""
    modules = config.modules(muc)
    if modules is not None and modules.value is None:
        return True  # an expression: the module list is unknown, and so are the roles
    names = modules.strings() if modules is not None else []
    where = (modules.file, modules.line) if modules is not None else (muc.file, muc.line)
    if "token_verification" not in names:
        report.add(
            *where,
            f'"token_verification" is not in the modules_enabled of Component "{muc.name}"',
            "the token's room is never compared with the room joined: a link for one meeting "
            "opens every meeting",
            f'add "token_verification"; to modules_enabled of Component "{muc.name}"',
        )
    has_affiliation = any(name in names for name in _AFFILIATION_MODULES)
    if not has_affiliation:
        report.add(
            *where,
            f'"token_affiliation" is not in the modules_enabled of Component "{muc.name}"',
            "owners from the bot don't become owners (they can't mute, kick or end the "
            "meeting); if Jicofo's auto-owner is on, whoever joins first is owner instead",
            f'add "token_affiliation"; to modules_enabled of Component "{muc.name}" '
            "(Docker: XMPP_MUC_MODULES=token_affiliation)",
        )
    if "muc_allowners" in names:
        report.add(
            modules.file if modules else muc.file,
            modules.item_line("muc_allowners") if modules else muc.line,
            f'"muc_allowners" is enabled on Component "{muc.name}"',
            "every participant becomes an owner (moderator): members can mute and kick everyone",
            f'remove "muc_allowners" from modules_enabled of Component "{muc.name}"',
        )
    if "muc_wait_for_host" in names:
        option = muc.settings.get("wait_for_host_disable_auto_owners") or (
            config.global_section.settings.get("wait_for_host_disable_auto_owners")
        )
        if option is None or (option.value is not None and not option.is_true()):
            report.add(
                modules.file if modules else muc.file,
                modules.item_line("muc_wait_for_host") if modules else muc.line,
                f'"muc_wait_for_host" is enabled on Component "{muc.name}" without '
                "wait_for_host_disable_auto_owners = true",
                "the module makes everyone who joins with a token an owner: members become "
                "moderators",
                f'add wait_for_host_disable_auto_owners = true to Component "{muc.name}" '
                "(Docker: WAIT_FOR_HOST_DISABLE_AUTO_OWNERS=1)",
            )
    return has_affiliation


def _check_breakout(config: _Prosody, breakout: _Section, report: CheckReport) -> None:
    """Token modules on the breakout-rooms MUC break breakout rooms."""
    modules = config.modules(breakout)
    if modules is None or modules.value is None:
        return
    names = modules.strings()
    if "token_verification" in names:
        report.add(
            modules.file,
            modules.item_line("token_verification"),
            f'"token_verification" is enabled on the breakout-rooms Component "{breakout.name}"',
            "the tokens name the main room, so moving people into breakout rooms fails",
            f'remove "token_verification" from Component "{breakout.name}" (keep it on the '
            "conference MUC only)",
        )
    if "token_owner_party" in names:
        report.add(
            modules.file,
            modules.item_line("token_owner_party"),
            f'"token_owner_party" is enabled on the breakout-rooms Component "{breakout.name}"',
            "members are refused or removed from breakout rooms that have no owner in them",
            f'remove "token_owner_party" from Component "{breakout.name}"',
        )


def _check_jicofo(
    settings: Settings, config: _Jicofo, facts: _ProsodyFacts, report: CheckReport
) -> None:
    """Jicofo's own authentication and auto-owner, with its precedence: properties win."""
    files = config.hocon_files + config.properties_files
    read = [path for path in files if path in report.checked]
    if not read:
        return
    domain = (facts.host.name if facts.host else _xmpp_domain(settings)).lower()
    everyone = (
        "Jicofo makes everyone who logs in with a token a moderator, overriding "
        "token_affiliation on the MUC: every member becomes an owner"
        if facts.affiliation_on_muc
        else "Jicofo makes everyone who logs in with a token a moderator (owner): members can "
        "mute, kick and end the meeting"
    )
    legacy = config.properties.get("org.jitsi.jicofo.auth.URL")
    if legacy is not None:
        kind = legacy.value.split(":", 1)[0].upper() if ":" in legacy.value else ""
        login = legacy.value.split(":", 1)[1] if ":" in legacy.value else ""
        if kind == "EXT_JWT" or (kind == "XMPP" and login.strip().lower() == domain):
            report.add(
                legacy.file,
                legacy.line,
                f"Jicofo's own {'JWT' if kind == 'EXT_JWT' else 'XMPP'} authentication is on "
                f"(org.jitsi.jicofo.auth.URL={kind}:...)",
                everyone,
                "delete the org.jitsi.jicofo.auth.URL line and restart jicofo; Prosody's token "
                "authentication is all the bot needs",
            )
    else:
        enabled = config.get("jicofo.authentication.enabled")
        kind_entry = config.get("jicofo.authentication.type")
        login_entry = config.get("jicofo.authentication.login-url")
        kind = kind_entry.value.strip().upper() if kind_entry else "NONE"
        login = login_entry.value.strip().lower() if login_entry else ""
        if (
            enabled is not None
            and _hocon_bool(enabled.value)
            and (kind == "JWT" or (kind == "XMPP" and login in ("", domain)))
        ):
            shown = kind_entry if kind_entry is not None else enabled
            report.add(
                shown.file,
                shown.line,
                f"Jicofo's own {kind} authentication is on (jicofo.authentication: "
                f"enabled = true, type = {kind})",
                everyone,
                "remove the authentication block from jicofo.conf (or set enabled = false; "
                "Docker: JICOFO_ENABLE_AUTH=0) and restart jicofo",
            )
    # A missing setting is only a finding when every Jicofo file could be read.
    _check_auto_owner(config, report, complete=len(read) == len(files))


def _check_auto_owner(config: _Jicofo, report: CheckReport, complete: bool) -> None:
    """enable-auto-owner: the legacy property wins over jicofo.conf, whose default is on."""
    effect = (
        "Jicofo makes the first participant an owner, and the next one whenever the owner "
        "leaves: members become moderators"
    )
    legacy = config.properties.get("org.jitsi.jicofo.DISABLE_AUTO_OWNER")
    if legacy is not None:
        if legacy.value.strip().lower() != "true":
            report.add(
                legacy.file,
                legacy.line,
                f"org.jitsi.jicofo.DISABLE_AUTO_OWNER={legacy.value}",
                effect,
                "set org.jitsi.jicofo.DISABLE_AUTO_OWNER=true and restart jicofo",
            )
        return
    modern = config.get("jicofo.conference.enable-auto-owner")
    if modern is not None:
        if _hocon_bool(modern.value) is True:
            report.add(
                modern.file,
                modern.line,
                f"jicofo.conference.enable-auto-owner = {modern.value}",
                effect,
                "set enable-auto-owner = false in jicofo { conference { } } (Docker: "
                "ENABLE_AUTO_OWNER=0) and restart jicofo",
            )
        return
    # Neither file disables it, and Jicofo's built-in default is on.
    if not complete:
        return
    if config.properties_files:
        report.add(
            config.properties_files[0],
            None,
            "org.jitsi.jicofo.DISABLE_AUTO_OWNER=true is missing (and jicofo.conf does not set "
            "enable-auto-owner = false)",
            effect,
            "add org.jitsi.jicofo.DISABLE_AUTO_OWNER=true (or enable-auto-owner = false in "
            "jicofo.conf) and restart jicofo",
        )
    elif config.hocon_files:
        anchor = config.objects.get(("jicofo", "conference")) or config.objects.get(("jicofo",))
        report.add(
            anchor.file if anchor else config.hocon_files[0],
            anchor.line if anchor else None,
            "jicofo.conference.enable-auto-owner is not set to false (Jicofo's default is true)",
            effect,
            "add enable-auto-owner = false inside jicofo { conference { } } (Docker: "
            "ENABLE_AUTO_OWNER=0) and restart jicofo",
        )


def _check_web(
    settings: Settings, hosts: dict[str, _Entry], facts: _ProsodyFacts, report: CheckReport
) -> None:
    """config.js: the XMPP domain the client logs in to, and guest access."""
    domain = hosts.get("domain")
    if (
        domain is not None
        and not settings.jitsi_tenant
        and not facts.domain_reported
        and domain.value.lower() != settings.token_subject.lower()
    ):
        report.add(
            domain.file,
            domain.line,
            f'hosts.domain is "{domain.value}", but the bot\'s tokens carry sub = '
            f'"{settings.token_subject}"',
            "with domain verification every join is refused: users land on the auth error page",
            f"set JITSI_DOMAIN={domain.value} for the bot (Docker installs use meet.jitsi)"
            if domain.value.lower() != "meet.jitsi"
            else "set JITSI_DOMAIN=meet.jitsi for the bot (a Docker install: its XMPP domain is "
            "meet.jitsi, not the web host)",
        )
    guest = hosts.get("anonymousdomain")
    if guest is not None and guest.value:
        report.add(
            guest.file,
            guest.line,
            f'hosts.anonymousdomain is set ("{guest.value}"): guests can log in without a token',
            "people without a personal link join as guests once a meeting is running",
            "remove anonymousdomain from config.js (and the guest VirtualHost; Docker: "
            "ENABLE_GUESTS=0) unless you want open guest access",
            severity="warning",
        )


def format_report(report: CheckReport) -> str:
    """The report as text for a terminal: each finding with location, effect and fix."""
    lines: list[str] = []
    errors = sum(1 for finding in report.findings if finding.severity == "error")
    warnings = len(report.findings) - errors
    files = len(report.checked)
    if report.findings:
        counts = f"{errors} error{'s' * (errors != 1)}, {warnings} warning{'s' * (warnings != 1)}"
        lines.append(
            f"Jitsi config check: {len(report.findings)} problem"
            f"{'s' * (len(report.findings) != 1)} ({counts}) in {files} file"
            f"{'s' * (files != 1)} read."
        )
    elif report.unreadable:
        lines.append(
            f"Jitsi config check: {len(report.unreadable)} file"
            f"{'s' * (len(report.unreadable) != 1)} could not be read; nothing wrong in the "
            f"{files} read."
        )
    elif report.checked:
        lines.append(f"Jitsi config check: no problems found in {files} file{'s' * (files != 1)}.")
    else:
        lines.append("Jitsi config check: no files were read.")
    wrap = textwrap.TextWrapper(width=99, subsequent_indent=" " * 12)
    for number, finding in enumerate(report.findings, start=1):
        lines.append("")
        lines.append(f"{number}. {finding.location}  [{finding.severity}]")
        lines.append(wrap.fill(f"   Problem: {finding.problem}"))
        lines.append(wrap.fill(f"   Effect:  {finding.effect}"))
        lines.append(wrap.fill(f"   Fix:     {finding.fix}"))
    if report.unreadable:
        lines.append("")
        lines.append("Could not read:")
        lines.extend(f"   {path}: {reason}" for path, reason in report.unreadable)
    if report.checked:
        lines.append("")
        lines.append("Files read:")
        lines.extend(f"   {path}" for path in report.checked)
    return "\n".join(lines) + "\n"


def default_paths(root: Path = Path("/")) -> tuple[list[Path], list[Path], Path | None]:
    """The Debian package locations that exist: Prosody files, Jicofo files, config.js."""
    prosody: list[Path] = []
    main = root / "etc/prosody/prosody.cfg.lua"
    if main.is_file():
        prosody.append(main)  # first, so that its Include of conf.d keeps the order Prosody uses
    prosody.extend(sorted((root / "etc/prosody/conf.d").glob("*.cfg.lua")))
    jicofo_dir = root / "etc/jitsi/jicofo"
    jicofo = [
        path
        for path in (jicofo_dir / "jicofo.conf", jicofo_dir / "sip-communicator.properties")
        if path.is_file()
    ]
    web = sorted((root / "etc/jitsi/meet").glob("*-config.js"))
    return prosody, jicofo, web[0] if web else None


# Rendering -----------------------------------------------------------------------------------


def _lua_string(value: str) -> str:
    """A double-quoted Lua string literal."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _bot_link(bot_username: str | None) -> str:
    """https://t.me/<bot>, with a placeholder when the username is not known."""
    if bot_username is None:
        return f"https://t.me/{BOT_USERNAME_PLACEHOLDER}"
    name = bot_username.strip().removeprefix("@")
    if not _BOT_USERNAME.fullmatch(name):
        raise ValueError(
            f"bot username {bot_username!r}: expected 5-32 letters, digits or underscores"
        )
    return f"https://t.me/{name}"


def _section(title: str, body: str) -> str:
    """One block of the output, headed by the file it belongs in."""
    return f"{SECTION_MARK} {title} {SECTION_MARK}\n{body.strip()}\n"


def _prosody_block(settings: Settings, reveal_secret: bool) -> str:
    """The VirtualHost and MUC lines for this bot."""
    domain = _xmpp_domain(settings)
    app_id = _lua_string(settings.jitsi_app_id)
    lines = [
        "-- Merge into the existing file; keep its other settings, modules and components",
        "-- (auth.<domain>, internal MUC, focus, lobby...). Needs the jitsi-meet-tokens package.",
    ]
    if settings.jitsi_tenant:
        lines += [
            "",
            f"-- Tenant URLs (https://{settings.jitsi_host}/{settings.jitsi_tenant}/<room>): the "
            f'token\'s sub is the tenant "{settings.jitsi_tenant}",',
            "-- and Prosody maps the tenant's rooms onto the domain below. Global section (top of",
            "-- the file, before any VirtualHost); Debian installs already have this line:",
            f"muc_mapper_domain_base = {_lua_string(domain)}",
        ]
    lines += [
        "",
        f"VirtualHost {_lua_string(domain)}",
        "    -- Only a valid token from the bot logs anyone in.",
        '    authentication = "token"',
        f"    app_id = {app_id}",
    ]
    if settings.signing_algorithm.startswith("HS"):
        secret = settings.jitsi_app_secret.get_secret_value() if settings.jitsi_app_secret else ""
        shown = secret if reveal_secret else SECRET_PLACEHOLDER
        note = "" if reveal_secret else "  -- JITSI_APP_SECRET; --reveal-secret prints it"
        lines.append(f"    app_secret = {_lua_string(shown)}{note}")
    else:
        key_id = settings.jitsi_key_id or ""
        digest = hashlib.sha256(key_id.encode()).hexdigest()
        lines += [
            "    -- RS256: Prosody fetches <asap_key_server>/<sha256 hex of the key id>.pem. For",
            f"    -- JITSI_KEY_ID {_lua_string(key_id)} publish the public key as {digest}.pem:",
            f"    --   openssl rsa -in {settings.jitsi_private_key_file} -pubout"
            f" -out {digest}.pem",
            '    asap_key_server = "https://<where you publish the public key>/"',
            f"    signature_algorithm = {_lua_string(settings.signing_algorithm)}",
        ]
    lines += [
        "    -- Without a token nobody gets in (true would let anyone in).",
        "    allow_empty_token = false",
        "    -- Accept tokens from this bot (iss) meant for it (aud) only.",
        f"    asap_accepted_issuers = {{ {app_id} }}",
        f"    asap_accepted_audiences = {{ {_lua_string(settings.token_audience)} }}",
        "",
        f'Component {_lua_string("conference." + domain)} "muc"',
        "    -- Add these to the modules_enabled list that is already there (keep the others):",
        "    modules_enabled = {",
    ]
    if settings.jitsi_tenant:
        lines.append('        "muc_domain_mapper";  -- tenant URLs')
    lines += [
        '        "token_verification";  -- the token\'s room must be the room joined',
        '        "token_affiliation";   -- owner or member, from context.user.affiliation',
        "        -- Optional (jitsi-contrib): members wait until an owner is in, and everyone is",
        "        -- removed party_check_timeout seconds after the last owner leaves.",
        '        -- "token_owner_party";',
        "    }",
        "    -- party_check_timeout = 60",
        "",
        f'-- Component {_lua_string("breakout." + domain)} "muc": nothing token-related there.',
        "-- token_verification on the breakout-rooms MUC breaks breakout rooms, token_owner_party",
        "-- removes members from them; both belong on the conference MUC only.",
        "-- Do not enable muc_allowners; with muc_wait_for_host also set",
        "-- wait_for_host_disable_auto_owners = true. Both would make every member an owner.",
    ]
    return "\n".join(lines)


def _jicofo_conf_block() -> str:
    """jicofo.conf (HOCON): auto-owner off, no authentication."""
    return """
# Merge into the existing jicofo { } block (keep xmpp, bridge and the rest).
# Remove any authentication { } block: Jicofo's own JWT (or XMPP) authentication makes everyone
# who logs in with a token a moderator, overriding token_affiliation.
jicofo {
  conference {
    # Roles come from the token only: no owner for the first (or next) one to join.
    enable-auto-owner = false
  }
}
"""


def _properties_block() -> str:
    """sip-communicator.properties, on older installs (it wins over jicofo.conf)."""
    return """
# Older installs read this file before jicofo.conf, and it wins.
# Delete any org.jitsi.jicofo.auth.URL=... line (EXT_JWT:... or XMPP:...): with it Jicofo makes
# every participant a moderator, whatever the token says.
org.jitsi.jicofo.DISABLE_AUTO_OWNER=true
"""


def _auth_error_block(link: str) -> str:
    """static/authError.html that sends people back to the bot."""
    return f"""
<!DOCTYPE html>
<!-- Shown when Jitsi refuses a token (expired, wrong room, not yet valid): back to the bot,
     which sends a fresh link. A jitsi-meet-web upgrade overwrites this file: keep a copy. -->
<html>
<head>
    <!--#include virtual="/base.html" -->
    <link rel="stylesheet" href="css/all.css"/>
    <!--#include virtual="/title.html" -->
    <meta http-equiv="refresh" content="5; URL={link}" />
</head>
<body>
    <div class="redirectPageMessage">This meeting link is not valid (any more).
        Taking you back to <a href="{link}">the bot</a> for a new one…</div>
</body>
</html>
"""


def _body_block(link: str) -> str:
    """body.html script that sends people back to the bot after a kick, a hang-up or an error."""
    return f"""
<script>
// Instead of a grey page after a kick, a hang-up or a failed connection: back to the bot.
(function () {{
    var BOT_URL = "{link}";
    function back() {{ window.location.href = BOT_URL; }}
    function subscribe() {{
        try {{
            var connection = APP.store.getState()["features/base/connection"];
            if (connection && connection.error) {{ return back(); }}
            APP.conference._room.on("conference.kicked", back);
            APP.conference._room.on("conference.left", back);
        }} catch (e) {{
            setTimeout(subscribe, 3000);  // the app is not ready yet: try again
        }}
    }}
    subscribe();
}})();
</script>
"""


def _docker_block(settings: Settings) -> str:
    """The docker-jitsi-meet .env equivalents (the secret always as a placeholder)."""
    lines = [
        "# docker-jitsi-meet: instead of editing the files above, set these in .env and",
        "# recreate the containers (docker compose up -d). Names as in recent env.example files.",
        "ENABLE_AUTH=1",
        "AUTH_TYPE=jwt",
        "ENABLE_GUESTS=0",
        f"JWT_APP_ID={settings.jitsi_app_id}",
    ]
    if settings.signing_algorithm.startswith("HS"):
        lines.append(f"JWT_APP_SECRET={SECRET_PLACEHOLDER}")
    else:
        lines.append("JWT_ASAP_KEYSERVER=https://<where you publish the public key>/")
    lines += [
        f"JWT_ACCEPTED_ISSUERS={settings.jitsi_app_id}",
        f"JWT_ACCEPTED_AUDIENCES={settings.token_audience}",
        "JWT_ALLOW_EMPTY=0",
        "XMPP_MUC_MODULES=token_affiliation",
        "JICOFO_ENABLE_AUTH=0",
        "ENABLE_AUTO_OWNER=0",
        "WAIT_FOR_HOST_DISABLE_AUTO_OWNERS=1",
        "# The XMPP domain of a Docker install is XMPP_DOMAIN (default meet.jitsi), not the web",
        "# host: set JITSI_DOMAIN=meet.jitsi for the bot, or the tokens' sub will not match.",
    ]
    return "\n".join(lines)


def _notes_block(settings: Settings, bot_username: str | None, reveal_secret: bool) -> str:
    """What to do with the blocks above, and the values they were made for."""
    domain = _xmpp_domain(settings)
    source = "JITSI_DOMAIN" if settings.jitsi_domain else f"the host of {settings.jitsi_base_url}"
    notes = [
        f'XMPP domain: "{domain}" (from {source}). If your Prosody VirtualHost has another name, '
        "set JITSI_DOMAIN to it; Docker installs use meet.jitsi.",
        f'Tokens: iss = "{settings.jitsi_app_id}", aud = "{settings.token_audience}", '
        f'sub = "{settings.token_subject}", signed {settings.signing_algorithm}.',
    ]
    if settings.jitsi_tenant:
        notes.append(
            f'JITSI_BASE_URL has a tenant, so sub = "{settings.jitsi_tenant}" (the tenant, not '
            f"the domain), and links are https://{settings.jitsi_host}/{settings.jitsi_tenant}/"
            "<room>."
        )
    if settings.signing_algorithm.startswith("HS") and not reveal_secret:
        notes.append(
            f'app_secret shows "{SECRET_PLACEHOLDER}": paste JITSI_APP_SECRET there, or run again '
            "with --reveal-secret."
        )
    if bot_username is None:
        notes.append(
            "The HTML links show a placeholder: run again with --bot-username <your bot's name>."
        )
    notes += [
        "Debian paths are shown; Docker keeps the same files under ~/.jitsi-meet-cfg/ (prosody, "
        "jicofo, web) and the HTML in the web container's /usr/share/jitsi-meet/.",
        "Then: systemctl restart prosody jicofo jitsi-videobridge2, and check the result with "
        "python -m bot jitsi-check (exit 0 = nothing found).",
    ]
    return "\n".join(textwrap.fill(note, width=95, subsequent_indent="  ") for note in notes)


def render_server_config(
    settings: Settings, *, bot_username: str | None, reveal_secret: bool = False
) -> str:
    """The Prosody, Jicofo and web-page settings this bot needs, one block per file."""
    link = _bot_link(bot_username)
    domain = _xmpp_domain(settings)
    blocks = [
        _section(f"/etc/prosody/conf.d/{domain}.cfg.lua", _prosody_block(settings, reveal_secret)),
        _section("/etc/jitsi/jicofo/jicofo.conf", _jicofo_conf_block()),
        _section("/etc/jitsi/jicofo/sip-communicator.properties", _properties_block()),
        _section("/usr/share/jitsi-meet/static/authError.html", _auth_error_block(link)),
        _section("/usr/share/jitsi-meet/body.html", _body_block(link)),
        _section("docker-jitsi-meet .env", _docker_block(settings)),
        _section("notes", _notes_block(settings, bot_username, reveal_secret)),
    ]
    return "\n".join(blocks)


# Command line ----------------------------------------------------------------------------------


def _parse(parser: argparse.ArgumentParser, argv: Sequence[str]) -> argparse.Namespace | int:
    """Parsed arguments, or the exit code argparse wanted (--help, a usage error)."""
    try:
        return parser.parse_args(list(argv))
    except SystemExit as stop:
        return stop.code if isinstance(stop.code, int) else 2


def jitsi_config_main(settings: Settings, argv: Sequence[str]) -> int:
    """`python -m bot jitsi-config`: print the server settings for this bot."""
    parser = argparse.ArgumentParser(
        prog="python -m bot jitsi-config",
        description="Print the Prosody, Jicofo and web-page settings this bot needs.",
    )
    parser.add_argument("--bot-username", metavar="NAME", help="the bot's Telegram username")
    parser.add_argument(
        "--reveal-secret",
        action="store_true",
        help="print JITSI_APP_SECRET in the app_secret line instead of a placeholder",
    )
    args = _parse(parser, argv)
    if isinstance(args, int):
        return args
    try:
        text = render_server_config(
            settings, bot_username=args.bot_username, reveal_secret=args.reveal_secret
        )
    except ValueError as error:
        parser.print_usage()
        print(f"{parser.prog}: error: {error}")
        return 2
    print(text, end="")
    return 0


def jitsi_check_main(settings: Settings, argv: Sequence[str]) -> int:
    """`python -m bot jitsi-check`: check the server's config files against the bot's settings."""
    parser = argparse.ArgumentParser(
        prog="python -m bot jitsi-check",
        description="Check Prosody, Jicofo and config.js files for the pitfalls that break "
        "token meetings, and for mismatches with this bot's settings. Without file options, "
        "the Debian locations are read.",
        epilog="Exit codes: 0 nothing found, 1 problems found, 2 a file could not be read.",
    )
    parser.add_argument("--prosody", metavar="FILE", type=Path, action="append", default=[])
    parser.add_argument("--jicofo", metavar="FILE", type=Path, action="append", default=[])
    parser.add_argument("--web-config", metavar="FILE", type=Path)
    args = _parse(parser, argv)
    if isinstance(args, int):
        return args
    prosody: list[Path] = args.prosody
    jicofo: list[Path] = args.jicofo
    web: Path | None = args.web_config
    if not (prosody or jicofo or web):
        prosody, jicofo, web = default_paths()
        if not (prosody or jicofo or web):
            print(
                "No Jitsi config files at the Debian locations (/etc/prosody, /etc/jitsi). "
                "Pass them with --prosody, --jicofo and --web-config."
            )
            return 2
    report = check_server_config(settings, prosody=prosody, jicofo=jicofo, web_config=web)
    print(format_report(report), end="")
    return report.exit_code
