"""Tests for bot.buttons: every kind round-trips, forged data reads as nothing, 64 bytes at most."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot import buttons
from bot.buttons import (
    ButtonData,
    ButtonDataTooLong,
    CalendarFile,
    ChangePreview,
    ConfirmPreview,
    ConfirmSittingChange,
    Decline,
    DropPreview,
    DropSittingChange,
    Duration,
    InvitePick,
    Join,
    LeaveDialog,
    MeetingAction,
    MeetingButton,
    Page,
    PollPick,
    PollSchedule,
    PollVote,
    PollZone,
    Rsvp,
    RsvpAction,
)

# One value of every kind, with the data buttons already sent in chats carry.
EXAMPLES: list[tuple[ButtonData, str]] = [
    (ConfirmPreview("Ab3-_x9Z"), "cf:Ab3-_x9Z"),
    (ChangePreview("Ab3-_x9Z"), "ch:Ab3-_x9Z"),
    (DropPreview("Ab3-_x9Z"), "cx:Ab3-_x9Z"),
    (Duration(45), "du:45"),
    (LeaveDialog(), "dx"),
    (Join("K7PQ2M"), "jn:K7PQ2M"),
    (Decline("K7PQ2M"), "dc:K7PQ2M"),
    (InvitePick("q-W_9e", "K7PQ2M"), "ip:q-W_9e:K7PQ2M"),
    (MeetingButton(MeetingAction.LINK, "K7PQ2M"), "mt:l:K7PQ2M"),
    (MeetingButton(MeetingAction.DETAILS, "K7PQ2M"), "mt:i:K7PQ2M"),
    (MeetingButton(MeetingAction.RESCHEDULE, "K7PQ2M"), "mt:r:K7PQ2M"),
    (MeetingButton(MeetingAction.CANCEL, "K7PQ2M"), "mt:c:K7PQ2M"),
    (MeetingButton(MeetingAction.LEAVE, "K7PQ2M"), "mt:x:K7PQ2M"),
    (Page(0), "pg:0"),
    (Page(12), "pg:12"),
    (CalendarFile("K7PQ2M"), "ic:K7PQ2M"),
    (ConfirmSittingChange("Ab3-_x9Z"), "sc:Ab3-_x9Z"),
    (DropSittingChange("Ab3-_x9Z"), "sx:Ab3-_x9Z"),
    (PollVote(17, 3), "pl:17:3"),
    (PollZone(17), "pz:17"),
    (PollSchedule(17), "ps:17"),
    (PollPick(17, 10), "pw:17:10"),
    (Rsvp(RsvpAction.GOING, "K7PQ2M"), "rv:g:K7PQ2M"),
    (Rsvp(RsvpAction.MAYBE, "K7PQ2M"), "rv:m:K7PQ2M"),
    (Rsvp(RsvpAction.CANT, "K7PQ2M"), "rv:c:K7PQ2M"),
    (Rsvp(RsvpAction.WHO, "K7PQ2M"), "rv:w:K7PQ2M"),
]


def test_every_kind_has_an_example() -> None:
    assert {type(value) for value, _data in EXAMPLES} == set(buttons.KINDS)


@pytest.mark.parametrize(("value", "data"), EXAMPLES, ids=[data for _v, data in EXAMPLES])
def test_every_kind_keeps_its_wire_format_and_round_trips(value: ButtonData, data: str) -> None:
    assert value.encode() == data
    assert type(value).decode(data) == value
    assert buttons.decode(data) == value
    assert type(value).claims(data)


@pytest.mark.parametrize(
    "data",
    [
        "",
        ":",
        "zz:forged",
        "zz:\x00garbage",
        "x" * 64,
        # wrong prefix for the kind, or a prefix with something glued to it
        "cfx:Ab3",
        "CF:Ab3",
        " cf:Ab3",
        # wrong field count
        "cf",
        "cf:",
        "cf:a:b",
        "dx:",
        "dx:x",
        "mt:c",
        "mt::::",
        "mt:c:K7PQ2M:extra",
        "ip:a",
        "ip:a:b:c",
        "pg",
        # fields that do not fit
        "mt:z:K7PQ2M",
        "mt:C:K7PQ2M",
        "mt:c:K7 PQ",
        "jn:K7PQ2M!",
        "jn:ÄBCDEF",
        "jn:" + "A" * 17,
        "cf:" + "a" * 23,
        "cf:ab.cd",
        "ip:a.b:K7PQ2M",
        # numbers: not ASCII digits, signs, spaces, leading zeros, out of range, too long
        "pg:²",
        "pg:٣",
        "pg:３",
        "pg:-5",
        "pg:+5",
        "pg: 5",
        "pg:5 ",
        "pg:05",
        "pg:abc",
        "pg:1e3",
        "pg:10000",
        "pg:" + "9" * 30,
        "du:0",
        "du:²",
        "du:1441",
        "du:" + "9" * 5000,
        # more than 64 bytes, even with a valid start
        "cf:Ab3" + "x" * 62,
        "jn:" + "é" * 40,
    ],
)
def test_forged_data_decodes_to_nothing(data: str) -> None:
    assert buttons.decode(data) is None
    for kind in buttons.KINDS:
        assert kind.decode(data) is None


def test_decode_takes_anything_without_raising() -> None:
    for data in (None, 12, b"cf:abc", ["cf", "abc"], "\ud800", "cf:\ud800"):
        assert buttons.decode(data) is None
        assert ConfirmPreview.decode(data) is None


def test_a_kind_decodes_only_its_own_prefix() -> None:
    assert Join.decode("dc:K7PQ2M") is None
    assert Decline.decode("dc:K7PQ2M") == Decline("K7PQ2M")
    assert Join.claims("jn:not a code!")  # claimed by prefix, refused by its handler
    assert not Join.claims("jnx:K7PQ2M")


@given(st.text(max_size=80))
def test_whatever_decodes_encodes_back_to_the_same_data(data: str) -> None:
    value = buttons.decode(data)
    if value is not None:
        assert value.encode() == data


@given(
    st.sampled_from(buttons.KINDS),
    st.text(alphabet="cfhxdujnipmtlrgs0123456789:-_aAé²", max_size=24),
)
def test_near_misses_never_raise(kind: type[ButtonData], tail: str) -> None:
    data = kind.PREFIX + tail
    value = kind.decode(data)
    assert value is None or value.encode() == data


def test_encode_refuses_more_than_64_bytes() -> None:
    # The longest kind today fits; a kind whose fields add up to more is caught on encode.
    assert len(InvitePick("a" * 22, "A" * 16).encode().encode()) <= buttons.DATA_LIMIT

    @dataclass(frozen=True)
    class TwoDrafts(ButtonData):
        PREFIX: ClassVar[str] = "two-drafts-and-more"
        FIELDS: ClassVar[tuple[Any, ...]] = (buttons.DRAFT_ID, buttons.DRAFT_ID)
        first: str
        second: str

    assert len(TwoDrafts("a" * 21, "b" * 22).encode()) == buttons.DATA_LIMIT
    with pytest.raises(ButtonDataTooLong):
        TwoDrafts("a" * 22, "b" * 22).encode()
    # What never fits is never read either.
    assert TwoDrafts.decode("two-drafts-and-more:" + "a" * 22 + ":" + "b" * 22) is None


def test_encode_refuses_values_the_wire_cannot_carry() -> None:
    for value in (
        Join("K7:PQ"),
        Join(""),
        ConfirmPreview("a" * 23),
        Page(-1),
        Page(10_000),
        Duration(0),
        MeetingButton("c", "K7PQ2M"),  # type: ignore[arg-type]
    ):
        with pytest.raises(ValueError):
            value.encode()
