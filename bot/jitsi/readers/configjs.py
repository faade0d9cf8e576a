"""The web client's config.js: the `hosts` entries, however they are written."""

from __future__ import annotations

import re
from pathlib import Path

from bot.jitsi.readers.source import Entry, FilesRead, Token, scan

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


def _js_tokens(text: str) -> list[Token]:
    """JavaScript tokens without comments; string quotes stripped."""
    tokens: list[Token] = []
    for kind, raw, line, end in scan(_JS_TOKEN, text, "sym"):
        if kind == "str":
            tokens.append(Token("str", raw[1:-1], line, end))
        elif kind not in ("space", "comment"):
            tokens.append(Token(kind, raw, line, end))
    return tokens


def read_web_hosts(path: Path, files: FilesRead) -> dict[str, Entry] | None:
    """config.js `hosts` entries: `hosts: { domain: '...' }` or `config.hosts.domain = '...'`."""
    text = files.read_text(path)
    if text is None:
        return None
    tokens = _js_tokens(text)
    hosts: dict[str, Entry] = {}
    stack: list[tuple[str, ...]] = []

    def record(keys: tuple[str, ...], at: int) -> None:
        full = tuple(part for frame in stack for part in frame) + keys
        follower = tokens[at + 1].text if at + 1 < len(tokens) else ""
        # `'conference.' + subdir + 'meet.example.com'` is an expression, not the value.
        if len(full) >= 2 and full[-2] == "hosts" and follower != "+":
            hosts[full[-1]] = Entry(tokens[at].text, path, tokens[at].line)

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
