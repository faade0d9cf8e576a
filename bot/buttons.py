"""Every inline button's callback data as a typed value: its prefix, its fields, encode/decode.

The wire format is `prefix:field:field` (a prefix alone for buttons without fields). Buttons
already sent in chats keep working across upgrades only while prefixes and field layouts stay
the same, so a change here is a change of a public format.

Telegram delivers callback data of 1 to 64 bytes, but a modified client can send any bytes it
likes: `decode` reads only what `encode` could have written (ASCII, canonical numbers within
range, the right number of fields) and answers None to anything else, never raising.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from enum import StrEnum
from typing import Any, ClassVar, Self

DATA_LIMIT = 64  # bytes of UTF-8, Telegram's limit for callback_data
SEPARATOR = ":"


class ButtonDataTooLong(ValueError):
    """Encoded data would exceed Telegram's 64 bytes: a bug in the caller, never user input."""


# --- the kinds of field --------------------------------------------------------------------


@dataclass(frozen=True)
class _Word:
    """Text matching a pattern (ASCII only, never the separator)."""

    pattern: re.Pattern[str]

    def write(self, value: object) -> str:
        if not isinstance(value, str) or not self.pattern.fullmatch(value):
            raise ValueError(f"{value!r} does not fit {self.pattern.pattern}")
        return value

    def read(self, text: str) -> object | None:
        return text if self.pattern.fullmatch(text) else None


@dataclass(frozen=True)
class _Number:
    """A whole number in `[low, high]`, written in ASCII digits without leading zeros."""

    low: int
    high: int

    def write(self, value: object) -> str:
        if not isinstance(value, int) or isinstance(value, bool):
            raise ValueError(f"{value!r} is not a whole number")
        if not self.low <= value <= self.high:
            raise ValueError(f"{value} is outside {self.low}..{self.high}")
        return str(value)

    def read(self, text: str) -> object | None:
        # str.isdigit() and int() take any Unicode digit ("²", "٣"); only ASCII was written.
        # The length check keeps int() away from long digit strings.
        if not _DIGITS.fullmatch(text) or len(text) > len(str(self.high)):
            return None
        value = int(text)
        return value if self.low <= value <= self.high else None


@dataclass(frozen=True)
class _Choice:
    """One value of a StrEnum, by its value."""

    enum: type[StrEnum]

    def write(self, value: object) -> str:
        if not isinstance(value, self.enum):
            raise ValueError(f"{value!r} is not a {self.enum.__name__}")
        return str(value.value)

    def read(self, text: str) -> object | None:
        return self.enum._value2member_map_.get(text)


_Field = _Word | _Number | _Choice

_DIGITS = re.compile(r"0|[1-9][0-9]*", re.ASCII)
# Meeting codes are six letters and digits today; older or longer ones still read.
CODE = _Word(re.compile(r"[A-Za-z0-9]{1,16}", re.ASCII))
# A draft's id: URL-safe base64, as secrets.token_urlsafe makes it.
DRAFT_ID = _Word(re.compile(r"[A-Za-z0-9_-]{1,22}", re.ASCII))
PAGE = _Number(0, 9_999)
MINUTES = _Number(1, 24 * 60)


# --- the base every button kind shares -----------------------------------------------------


class ButtonData:
    """A button's callback data; subclasses are frozen dataclasses with a PREFIX and FIELDS.

    FIELDS names the wire type of each dataclass field, in order.
    """

    PREFIX: ClassVar[str]
    FIELDS: ClassVar[tuple[_Field, ...]] = ()

    def encode(self) -> str:
        """The callback data; ButtonDataTooLong past 64 bytes, ValueError for a bad field."""
        values = [getattr(self, field.name) for field in fields(self)]  # type: ignore[arg-type]
        texts = [kind.write(value) for kind, value in zip(self.FIELDS, values, strict=True)]
        data = SEPARATOR.join([self.PREFIX, *texts])
        size = len(data.encode())
        if size > DATA_LIMIT:
            raise ButtonDataTooLong(f"{data!r} is {size} bytes, Telegram takes {DATA_LIMIT}")
        return data

    @classmethod
    def decode(cls, data: object) -> Self | None:
        """This kind's value from callback data; None for anything `encode` could not write."""
        if not isinstance(data, str) or len(data.encode(errors="replace")) > DATA_LIMIT:
            return None
        prefix, *texts = data.split(SEPARATOR)
        if prefix != cls.PREFIX or len(texts) != len(cls.FIELDS):
            return None
        values = [kind.read(text) for kind, text in zip(cls.FIELDS, texts, strict=True)]
        if any(value is None for value in values):
            return None
        # The subclass's dataclass __init__ takes exactly these fields, in this order.
        build: Any = cls
        value: Self = build(*values)
        return value

    @classmethod
    def claims(cls, data: object) -> bool:
        """Whether callback data carries this kind's prefix (well-formed or not).

        Handlers are chosen by prefix, so a malformed press of a known kind gets that kind's
        own refusal rather than a generic one.
        """
        return isinstance(data, str) and data.split(SEPARATOR, 1)[0] == cls.PREFIX


# --- the buttons ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ConfirmPreview(ButtonData):
    """Confirm under a /schedule or /reschedule preview."""

    PREFIX: ClassVar[str] = "cf"
    FIELDS: ClassVar[tuple[_Field, ...]] = (DRAFT_ID,)
    draft_id: str


@dataclass(frozen=True)
class ChangePreview(ButtonData):
    """Change under a /schedule or /reschedule preview."""

    PREFIX: ClassVar[str] = "ch"
    FIELDS: ClassVar[tuple[_Field, ...]] = (DRAFT_ID,)
    draft_id: str


@dataclass(frozen=True)
class DropPreview(ButtonData):
    """Cancel under a /schedule or /reschedule preview."""

    PREFIX: ClassVar[str] = "cx"
    FIELDS: ClassVar[tuple[_Field, ...]] = (DRAFT_ID,)
    draft_id: str


@dataclass(frozen=True)
class Duration(ButtonData):
    """A duration choice in the /schedule dialog."""

    PREFIX: ClassVar[str] = "du"
    FIELDS: ClassVar[tuple[_Field, ...]] = (MINUTES,)
    minutes: int


@dataclass(frozen=True)
class LeaveDialog(ButtonData):
    """Cancel in the /schedule dialog."""

    PREFIX: ClassVar[str] = "dx"


@dataclass(frozen=True)
class Join(ButtonData):
    """Join under a group's announcement."""

    PREFIX: ClassVar[str] = "jn"
    FIELDS: ClassVar[tuple[_Field, ...]] = (CODE,)
    code: str


@dataclass(frozen=True)
class Decline(ButtonData):
    """Decline under an invitation."""

    PREFIX: ClassVar[str] = "dc"
    FIELDS: ClassVar[tuple[_Field, ...]] = (CODE,)
    code: str


@dataclass(frozen=True)
class InvitePick(ButtonData):
    """One meeting offered by an /invite that named no code."""

    PREFIX: ClassVar[str] = "ip"
    FIELDS: ClassVar[tuple[_Field, ...]] = (DRAFT_ID, CODE)
    pick_id: str
    code: str


class MeetingAction(StrEnum):
    """What a /meetings entry's button does."""

    LINK = "l"
    DETAILS = "i"
    RESCHEDULE = "r"
    CANCEL = "c"
    LEAVE = "x"


@dataclass(frozen=True)
class MeetingButton(ButtonData):
    """A /meetings entry's button: link, details, reschedule, cancel or leave."""

    PREFIX: ClassVar[str] = "mt"
    FIELDS: ClassVar[tuple[_Field, ...]] = (_Choice(MeetingAction), CODE)
    action: MeetingAction
    code: str


@dataclass(frozen=True)
class Page(ButtonData):
    """A page of /meetings (numbered from 0)."""

    PREFIX: ClassVar[str] = "pg"
    FIELDS: ClassVar[tuple[_Field, ...]] = (PAGE,)
    page: int


@dataclass(frozen=True)
class CalendarFile(ButtonData):
    """The .ics button: the meeting's calendar file, sent privately."""

    PREFIX: ClassVar[str] = "ic"
    FIELDS: ClassVar[tuple[_Field, ...]] = (CODE,)
    code: str


@dataclass(frozen=True)
class ConfirmSittingChange(ButtonData):
    """Confirm under a /skip or /move preview."""

    PREFIX: ClassVar[str] = "sc"
    FIELDS: ClassVar[tuple[_Field, ...]] = (DRAFT_ID,)
    draft_id: str


@dataclass(frozen=True)
class DropSittingChange(ButtonData):
    """Cancel under a /skip or /move preview."""

    PREFIX: ClassVar[str] = "sx"
    FIELDS: ClassVar[tuple[_Field, ...]] = (DRAFT_ID,)
    draft_id: str


# A poll's id (a database integer) and a slot's number in it (1-based; at most 10 today).
POLL_ID = _Number(1, 2**31 - 1)
SLOT = _Number(1, 99)


@dataclass(frozen=True)
class PollVote(ButtonData):
    """A slot's button under a poll: vote for it, or take the vote back."""

    PREFIX: ClassVar[str] = "pl"
    FIELDS: ClassVar[tuple[_Field, ...]] = (POLL_ID, SLOT)
    poll_id: int
    position: int


@dataclass(frozen=True)
class PollZone(ButtonData):
    """The “My time zone” button under a poll: its times, privately, in the presser's zone."""

    PREFIX: ClassVar[str] = "pz"
    FIELDS: ClassVar[tuple[_Field, ...]] = (POLL_ID,)
    poll_id: int


@dataclass(frozen=True)
class PollSchedule(ButtonData):
    """The “Schedule…” button under a poll: asks the organizer which slot."""

    PREFIX: ClassVar[str] = "ps"
    FIELDS: ClassVar[tuple[_Field, ...]] = (POLL_ID,)
    poll_id: int


@dataclass(frozen=True)
class PollPick(ButtonData):
    """A slot the organizer picks to schedule: the usual preview follows."""

    PREFIX: ClassVar[str] = "pw"
    FIELDS: ClassVar[tuple[_Field, ...]] = (POLL_ID, SLOT)
    poll_id: int
    position: int


class RsvpAction(StrEnum):
    """An RSVP button: an answer, or Who (the names behind the counts)."""

    GOING = "g"
    MAYBE = "m"
    CANT = "c"
    WHO = "w"


@dataclass(frozen=True)
class Rsvp(ButtonData):
    """Going / Maybe / Can't (and Who) under a group's announcement or an invitation."""

    PREFIX: ClassVar[str] = "rv"
    FIELDS: ClassVar[tuple[_Field, ...]] = (_Choice(RsvpAction), CODE)
    action: RsvpAction
    code: str


KINDS: tuple[type[ButtonData], ...] = (
    ConfirmPreview,
    ChangePreview,
    DropPreview,
    Duration,
    LeaveDialog,
    Join,
    Decline,
    InvitePick,
    MeetingButton,
    Page,
    CalendarFile,
    ConfirmSittingChange,
    DropSittingChange,
    PollVote,
    PollZone,
    PollSchedule,
    PollPick,
    Rsvp,
)
_BY_PREFIX = {kind.PREFIX: kind for kind in KINDS}
assert len(_BY_PREFIX) == len(KINDS), "two button kinds share a prefix"


def decode(data: object) -> ButtonData | None:
    """Any kind's value from callback data; None for forged or outdated data."""
    if not isinstance(data, str):
        return None
    kind = _BY_PREFIX.get(data.split(SEPARATOR, 1)[0])
    return kind.decode(data) if kind is not None else None
