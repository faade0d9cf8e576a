"""The small pages a click-time link shows instead of the meeting: escaped, no external
resources, in the reader's language (set by the caller)."""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.domain.links import Opened, Opening
from bot.domain.people import display
from bot.domain.values import Occurrence
from bot.i18n import _, current_language, format_span, format_when
from storage.models import Meeting

# A waiting page reloads itself at the latest after this long, so a long wait (or a clock the
# meeting was moved under) is looked at again.
LONGEST_WAIT = timedelta(hours=1)

_PAGE = """<!DOCTYPE html>
<html lang="{language}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<meta name="referrer" content="no-referrer">
{refresh}<title>{title}</title>
<style>
body {{ font: 17px/1.5 system-ui, sans-serif; max-width: 34em; margin: 12vh auto;
        padding: 0 1.2em; color: #1f2328; background: #fff; }}
h1 {{ font-size: 1.35em; margin-bottom: .6em; }}
p {{ margin: .5em 0; }}
.when {{ color: #57606a; }}
</style>
</head>
<body>
<main>
<h1>{heading}</h1>
{paragraphs}
</main>
</body>
</html>
"""


@dataclass(frozen=True)
class Page:
    """What one page says; rendered escaped."""

    status: int
    heading: str
    paragraphs: list[str] = field(default_factory=list)
    when: str = ""  # the meeting's time, shown under the heading
    refresh_after: int | None = None  # seconds until the page loads itself again
    # A link to open the meeting: the same address without its query, which mints then.
    join_label: str | None = None


def render(page: Page) -> str:
    """The page as HTML; every text is escaped."""
    refresh = ""
    if page.refresh_after is not None:
        # No URL: the browser loads this same address again, and the server decides then.
        refresh = f'<meta http-equiv="refresh" content="{int(page.refresh_after)}">\n'
    paragraphs = []
    if page.when:
        paragraphs.append(f'<p class="when">{html.escape(page.when)}</p>')
    paragraphs += [f"<p>{html.escape(text)}</p>" for text in page.paragraphs]
    if page.join_label is not None:
        paragraphs.append(f'<p><a href="?">{html.escape(page.join_label)}</a></p>')
    return _PAGE.format(
        language=html.escape(current_language()),
        refresh=refresh,
        title=html.escape(page.heading),
        heading=html.escape(page.heading),
        paragraphs="\n".join(paragraphs),
    )


def opening_page(opening: Opening, zone: str, now: datetime) -> Page:
    """The page for a click-time link that did not lead into the meeting: why not, or when."""
    meeting = opening.meeting
    if opening.outcome is Opened.UNKNOWN or meeting is None:
        return unknown_page()
    if opening.outcome is Opened.NOT_YOURS:
        return not_yours_page(display(opening.user) if opening.user else "?")
    if opening.outcome is Opened.CANCELLED:
        return cancelled_page(meeting)
    if opening.outcome is Opened.REFUSED:
        return refused_page(meeting)
    if opening.outcome is Opened.DECLINED:
        return declined_page(meeting)
    if opening.outcome is Opened.WAITLISTED:
        assert opening.waitlist_place is not None
        return waitlisted_page(meeting, opening.waitlist_place)
    if opening.outcome is Opened.ENDED:
        return ended_page(meeting)
    assert opening.occurrence is not None and opening.opens is not None
    return waiting_page(meeting, opening.occurrence, opening.opens, zone, now)


def waiting_page(
    meeting: Meeting, occurrence: Occurrence, opens: datetime, zone: str, now: datetime
) -> Page:
    """Before the join window: when the meeting is, and that this page lets them in then."""
    wait = min(opens - now, LONGEST_WAIT)
    return Page(
        status=200,
        heading=meeting.title,
        when=format_span(occurrence.start, occurrence.end, zone),
        paragraphs=[
            _("The room opens: {time}").format(time=format_when(opens, zone)),
            _("Keep this page open: it takes you into the meeting by itself then."),
        ],
        refresh_after=max(1, math.ceil(wait.total_seconds())),
    )


def left_page(meeting: Meeting) -> Page:
    """Back from the meeting after a hang-up or a kick (Jitsi's body.html sends people here)."""
    return Page(
        status=200,
        heading=meeting.title,
        paragraphs=[_("You are no longer in the call.")],
        join_label=_("Join again"),
    )


def refused_twice_page(meeting: Meeting) -> Page:
    """Jitsi refused a fresh token too (its error page sends people here the second time)."""
    return Page(
        status=200,
        heading=meeting.title,
        paragraphs=[
            _("The meeting server did not accept your link, twice in a row."),
            _("Try again; if it fails again, tell the organizer."),
        ],
        join_label=_("Try again"),
    )


def ended_page(meeting: Meeting) -> Page:
    """After the last sitting."""
    return Page(status=410, heading=meeting.title, paragraphs=[_("This meeting has ended.")])


def cancelled_page(meeting: Meeting) -> Page:
    """The meeting was cancelled."""
    return Page(status=410, heading=meeting.title, paragraphs=[_("This meeting was cancelled.")])


def refused_page(meeting: Meeting) -> Page:
    """The link's person is no longer in the meeting (removed, left, declined)."""
    return Page(
        status=403,
        heading=meeting.title,
        paragraphs=[
            _("This link no longer lets anyone into this meeting."),
            _("If you should be in it, ask an organizer to invite you."),
        ],
    )


def declined_page(meeting: Meeting) -> Page:
    """The link's person said Can't: no way in until they change their answer."""
    return Page(
        status=403,
        heading=meeting.title,
        paragraphs=[
            _("You said you can't come, so this link does not open the meeting."),
            _(
                "Changed your mind? Tap Going or Maybe on the invitation or the group's message, "
                "then open this link again."
            ),
        ],
    )


def waitlisted_page(meeting: Meeting, place: int) -> Page:
    """The meeting is full and the link's person waits for a seat."""
    return Page(
        status=403,
        heading=meeting.title,
        paragraphs=[
            _("The meeting is full: you are number {place} on the waitlist.").format(place=place),
            _("The bot tells you when a seat is free; then this link lets you in."),
        ],
    )


def not_yours_page(owner_name: str) -> Page:
    """A bound link opened by another Telegram account than the one it was sent to."""
    return Page(
        status=403,
        heading=_("Not your link"),
        paragraphs=[
            _("This link belongs to {name}; ask the organizer to invite you.").format(
                name=owner_name
            )
        ],
    )


def unverified_page() -> Page:
    """A bound link whose page could not show who opened it (outside Telegram, forged, or
    signed by Telegram too long ago)."""
    return Page(
        status=403,
        heading=_("Open this link in Telegram"),
        paragraphs=[
            _("This link only opens for the person it was sent to, from Telegram."),
            _("Tap the button under the bot's message in your private chat with the bot."),
        ],
    )


def unknown_page() -> Page:
    """No such link (never made, or replaced)."""
    return Page(
        status=404,
        heading=_("Link not found"),
        paragraphs=[_("This meeting link is not valid. Ask the bot for yours with /link.")],
    )


def preview_page() -> Page:
    """What link previews and HEAD requests see: nothing about the meeting or the person."""
    return Page(
        status=200,
        heading=_("Personal meeting link"),
        paragraphs=[_("Open it in your browser to join the meeting.")],
    )


def failure_page() -> Page:
    """Something went wrong on our side."""
    return Page(
        status=500,
        heading=_("Something went wrong"),
        paragraphs=[_("Please try the link again in a minute.")],
    )
