"""Entity detection and the HTML parse mode, without a server."""

from __future__ import annotations

import pytest

from bot.sandbox.text import ParseError, detect_entities, parse_html, utf16_len


def test_utf16_length_counts_surrogate_pairs() -> None:
    assert utf16_len("a😀b") == 4
    assert utf16_len("👍🏽") == 4


def test_commands_mentions_and_urls() -> None:
    text = "/start@bot hi @alice, mail a@b.org or see https://x.org/a/b and /help"
    kinds = [
        (e["type"], text[e["offset"] : e["offset"] + e["length"]]) for e in detect_entities(text)
    ]
    assert kinds == [
        ("bot_command", "/start@bot"),
        ("mention", "@alice"),
        ("url", "https://x.org/a/b"),
        ("bot_command", "/help"),
    ]


def test_text_mention_skips_taken_spans_and_must_exist() -> None:
    user = {"id": 5, "is_bot": False, "first_name": "Al"}
    [mention, text_mention] = detect_entities("@Alice Al", [(user, "Al")])
    assert mention["type"] == "mention"
    assert (text_mention["offset"], text_mention["length"], text_mention["user"]) == (7, 2, user)
    with pytest.raises(ValueError, match="not in the text"):
        detect_entities("hello", [(user, "Bob")])


def test_html_is_stripped_and_unescaped_with_entities() -> None:
    plain, entities = parse_html(
        '😀 <b>Bold <i>both</i></b> &lt;tag&gt; &amp; <a href="https://x.org">link</a> '
        '<a href="tg://user?id=7">Bob</a> <pre><code class="language-py">x = 1</code></pre>'
    )
    assert plain == "😀 Bold both <tag> & link Bob x = 1"
    assert entities == [
        {"type": "bold", "offset": 3, "length": 9},
        {"type": "italic", "offset": 8, "length": 4},
        {"type": "text_link", "url": "https://x.org", "offset": 21, "length": 4},
        {"type": "text_mention", "user_id": 7, "offset": 26, "length": 3},
        {"type": "pre", "language": "py", "offset": 30, "length": 5},
    ]


@pytest.mark.parametrize(
    ("source", "error"),
    [
        ("<b>open", 'Can\'t find end tag corresponding to start tag "b"'),
        ("a<br/>b", 'Unsupported start tag "br" at byte offset 1'),
        ("<blink>x</blink>", 'Unsupported start tag "blink" at byte offset 0'),
        ("<b>x</i>", "Unmatched end tag"),
    ],
)
def test_html_errors(source: str, error: str) -> None:
    with pytest.raises(ParseError, match=error):
        parse_html(source)
