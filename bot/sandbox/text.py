"""Text as Telegram handles it: UTF-16 offsets, automatic entities and the HTML parse mode."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

Entity = dict[str, Any]

# A /command only starts at a word boundary, so paths and URLs are not commands.
_COMMAND_RE = re.compile(r"(?<![\w/@])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![\w@])")
_MENTION_RE = re.compile(r"(?<![\w@/])@[A-Za-z0-9_]{3,32}(?!\w)")
_URL_RE = re.compile(r"https?://[^\s<>\"']+")

# Telegram's HTML tags and the entity type each one produces.
_SIMPLE_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "code": "code",
    "pre": "pre",
}


class ParseError(ValueError):
    """The text could not be parsed in the requested parse mode."""


def utf16_len(text: str) -> int:
    """Length of a string in UTF-16 code units, the unit of Telegram's entity offsets."""
    return len(text.encode("utf-16-le")) // 2


def _span(text: str, start: int, end: int) -> tuple[int, int]:
    """Convert a Python [start, end) slice into a Telegram (offset, length) pair."""
    offset = utf16_len(text[:start])
    return offset, utf16_len(text[start:end])


def _overlaps(start: int, end: int, taken: list[tuple[int, int]]) -> bool:
    """Whether [start, end) intersects any of the taken ranges."""
    return any(start < t_end and t_start < end for t_start, t_end in taken)


def detect_entities(
    text: str, text_mentions: list[tuple[dict[str, Any], str]] | None = None
) -> list[Entity]:
    """Entities a Telegram client would attach: urls, bot commands, mentions and text mentions."""
    found: list[tuple[int, int, Entity]] = []
    taken: list[tuple[int, int]] = []
    for pattern, kind in (
        (_URL_RE, "url"),
        (_COMMAND_RE, "bot_command"),
        (_MENTION_RE, "mention"),
    ):
        for match in pattern.finditer(text):
            if _overlaps(match.start(), match.end(), taken):
                continue
            taken.append((match.start(), match.end()))
            found.append((match.start(), match.end(), {"type": kind}))
    for user, substring in text_mentions or []:
        start = _find_free(text, substring, taken)
        if start < 0:
            raise ValueError(f"text_mention {substring!r} is not in the text {text!r}")
        end = start + len(substring)
        taken.append((start, end))
        found.append((start, end, {"type": "text_mention", "user": user}))
    entities = []
    for start, end, entity in sorted(found, key=lambda item: item[0]):
        offset, length = _span(text, start, end)
        entities.append({**entity, "offset": offset, "length": length})
    return entities


def _find_free(text: str, substring: str, taken: list[tuple[int, int]]) -> int:
    """First occurrence of substring not overlapping an entity already found, or -1."""
    start = text.find(substring)
    while start >= 0 and _overlaps(start, start + len(substring), taken):
        start = text.find(substring, start + 1)
    return start


class _TelegramHTMLParser(HTMLParser):
    """Collects plain text and entities from Telegram-flavoured HTML."""

    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=True)
        self.source = source
        self.parts: list[str] = []
        self.length = 0  # UTF-16 units emitted so far
        self.open: list[tuple[str, int, Entity]] = []
        self.entities: list[Entity] = []

    def _byte_offset(self) -> int:
        """Byte offset of the current tag in the source, as Telegram reports it."""
        line, column = self.getpos()
        lines = self.source.split("\n")
        index = sum(len(text) + 1 for text in lines[: line - 1]) + column
        return len(self.source[:index].encode())

    def handle_data(self, data: str) -> None:
        """Plain text between tags."""
        self.parts.append(data)
        self.length += utf16_len(data)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """Open an entity for a supported tag; anything else is an error as in Telegram."""
        attributes = dict(attrs)
        entity = self._entity_for(tag, attributes)
        if entity is None:
            raise ParseError(f'Unsupported start tag "{tag}" at byte offset {self._byte_offset()}')
        self.open.append((tag, self.length, entity))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """Self-closing tags such as <br/> do not exist in Telegram's HTML."""
        raise ParseError(f'Unsupported start tag "{tag}" at byte offset {self._byte_offset()}')

    def handle_endtag(self, tag: str) -> None:
        """Close the innermost open tag, which must be this one."""
        if not self.open or self.open[-1][0] != tag:
            raise ParseError(
                f'Unmatched end tag at byte offset {self._byte_offset()}, expected "</'
                f'{self.open[-1][0] if self.open else ""}>", found "</{tag}>"'
            )
        _, start, entity = self.open.pop()
        parent = self.open[-1][2] if self.open else None
        if entity["type"] == "code":
            language = entity.pop("language", None)
            if parent is not None and parent["type"] == "pre":
                # <pre><code class="language-x"> is one pre entity with a language.
                if language:
                    parent["language"] = language
                return
        if self.length > start:
            self.entities.append({**entity, "offset": start, "length": self.length - start})

    @staticmethod
    def _entity_for(tag: str, attributes: dict[str, str | None]) -> Entity | None:
        """The entity a start tag opens, or None when Telegram does not support the tag."""
        if tag in _SIMPLE_TAGS:
            entity: Entity = {"type": _SIMPLE_TAGS[tag]}
            css = attributes.get("class") or ""
            if tag == "code" and css.startswith("language-"):
                entity["language"] = css.removeprefix("language-")
            return entity
        if tag == "span" and attributes.get("class") == "tg-spoiler":
            return {"type": "spoiler"}
        if tag == "a":
            href = attributes.get("href") or ""
            match = re.fullmatch(r"tg://user\?id=(\d+)", href)
            if match:
                return {"type": "text_mention", "user_id": int(match.group(1))}
            return {"type": "text_link", "url": href}
        if tag == "blockquote":
            expandable = "expandable" in attributes
            return {"type": "expandable_blockquote" if expandable else "blockquote"}
        if tag == "tg-emoji":
            return {"type": "custom_emoji", "custom_emoji_id": attributes.get("emoji-id") or ""}
        return None


def parse_html(source: str) -> tuple[str, list[Entity]]:
    """Plain text (tags stripped, entities unescaped) and message entities of an HTML text."""
    parser = _TelegramHTMLParser(source)
    parser.feed(source)
    parser.close()
    if parser.open:
        raise ParseError(f'Can\'t find end tag corresponding to start tag "{parser.open[-1][0]}"')
    entities = sorted(parser.entities, key=lambda entity: (entity["offset"], -entity["length"]))
    return "".join(parser.parts), entities


def parse_text(text: str, parse_mode: str | None) -> tuple[str, list[Entity]]:
    """Plain text and entities for a text sent with the given parse_mode (None = plain)."""
    mode = (parse_mode or "").lower()
    if mode == "":
        return text, []
    if mode == "html":
        return parse_html(text)
    if mode in ("markdown", "markdownv2"):
        # Markdown is not modelled: the raw text is kept so tests still see the words.
        return text, []
    raise ParseError(f"unsupported parse_mode {parse_mode!r}")
