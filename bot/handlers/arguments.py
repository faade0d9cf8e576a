"""What people type after a command, read in one place: numbers, people, role words, parts.

Whatever cannot be read is refused with a message that says what to send; nothing typed is
silently dropped or handed on to the database unchecked.
"""

from __future__ import annotations

import re

from sqlmodel import Session

from bot.domain import lookup
from bot.errors import InvalidInput, NotFound
from bot.i18n import _
from bot.jitsi import Role
from bot.render import role_name

# Telegram's user ids have at most 52 significant bits: a bigger number names nobody (and
# would overflow the database's BIGINT).
USER_ID_LIMIT = 2**52

# str.isdigit() and int() take any Unicode digit ("²", "٣"); people's numbers are ASCII.
_NUMBER = re.compile(r"[0-9]{1,20}")


def parse_number(text: str, *, below: int) -> int | None:
    """A whole number written in ASCII digits and under `below`, else None."""
    if not _NUMBER.fullmatch(text):
        return None
    value = int(text)
    return value if value < below else None


def person_named(session: Session, word: str, usage: str) -> int:
    """The user id a typed word names: a known username (with or without @) or a user id.

    Anything else is refused, never skipped: a skipped name would turn
    "/features CODE mia recording=on" into a change for everyone.
    """
    user_id = parse_number(word, below=USER_ID_LIMIT)
    if user_id is not None:
        return user_id
    user = lookup.find_user_by_username(session, word)
    if user is not None:
        return user.id
    if word.startswith("@"):
        raise NotFound(
            _("I don't know {name} yet: they need to write to me once.").format(name=word[:40])
        )
    raise InvalidInput(_("I don't know who “{word}” is.").format(word=word[:40]) + "\n" + usage)


def one_person(named: set[int], usage: str) -> int | None:
    """The one person a command names (None for nobody); two or more are refused."""
    if len(named) > 1:
        raise InvalidInput(_("Name one person at a time.") + "\n" + usage)
    return next(iter(named), None)


def role_words() -> dict[str, Role]:
    """The words for the roles a reader may type: English always, and the reader's own."""
    words = {role.value: role for role in Role}
    words.update({role_name(role).casefold(): role for role in Role})
    return words


def role_choices() -> dict[str, str]:
    """The role words as /help and the usage show them, for `{owner}|{member}`."""
    return {"owner": role_name(Role.OWNER), "member": role_name(Role.MEMBER)}


def required(text: str, missing: str, usage: str) -> str:
    """`text` without surrounding blanks, or InvalidInput saying what is missing and how."""
    if not text.strip():
        raise InvalidInput(missing + "\n" + usage)
    return text.strip()
