"""Texts and keyboards about meetings, in the reader's language (set by the caller)."""

from __future__ import annotations

import html
from datetime import datetime

from sqlmodel import Session

from bot import timeparse
from bot.buttons import CalendarFile, Rsvp, RsvpAction
from bot.calendar import Organizer, build_ics, google_calendar_link, outlook_calendar_link
from bot.delivery.texts import join_button
from bot.domain import notices, people, sittings
from bot.domain.links import LinkRequest
from bot.domain.rsvp import Answer, CapacityChange, Counts
from bot.i18n import _, current_language, format_span, format_when, ngettext
from bot.jitsi import Role
from bot.messaging import Button
from storage.models import Meeting, Notice, User


def role_name(role: Role) -> str:
    """A role in words."""
    return _("owner") if role is Role.OWNER else _("member")


def render_meeting_card(
    meeting: Meeting, session: Session, zone: str, now: datetime, role: Role | None = None
) -> str:
    """Title, code, next time in the reader's zone, repeat rule, and the reader's role."""
    occurrence = sittings.occurrence_after(session, meeting, now)
    when = [] if occurrence is None else [format_span(occurrence.start, occurrence.end, zone)]
    return _card(meeting, when, role)


def _card(meeting: Meeting, when: list[str], role: Role | None) -> str:
    """A meeting's card with the given time lines (plain text, escaped here)."""
    lines = [f"<b>{html.escape(meeting.title)}</b> · <code>{meeting.code}</code>"]
    lines += ["🕒 " + html.escape(line) for line in when]
    if meeting.rrule:
        lines.append(
            "🔁 "
            + html.escape(
                timeparse.describe_recurrence(
                    meeting.rrule, locale=current_language(), zone=meeting.zone
                )
            )
        )
    if role is not None:
        lines.append(_("Your role: {role}").format(role=role_name(role)))
    return "\n".join(lines)


def render_link_reply(request: LinkRequest, zone: str, *, bound: bool = False) -> str:
    """The personal link now, or when it will be available (or why it won't come).

    `bound` (LINK_BINDING=telegram): the link rides join_keyboard's Mini App button instead."""
    if request.waitlist_place is not None:
        return _(
            "The meeting is full: you are number {place} on the waitlist. "
            "Your link comes when a seat is free."
        ).format(place=request.waitlist_place)
    if request.declined:
        return _(
            "You said you can't come, so no link comes. Changed your mind? "
            "Tap Going or Maybe on the invitation or the group's message."
        )
    if request.link is None:
        return _(
            "Your personal link will be ready from {time}. Ask again with /link {code}."
        ).format(time=html.escape(format_when(request.opens, zone)), code=request.meeting.code)
    role = _("Your role: {role}").format(role=role_name(request.role))
    if bound:
        return role + "\n" + _("Join with the button below: it opens the meeting only for you.")
    heading = _("Your personal link (only for you, don't forward it):")
    return "\n".join([role, heading, html.escape(request.link)])


def join_keyboard(request: LinkRequest, bound: bool) -> list[list[Button]]:
    """The Mini App button under a bound link reply (private chats only), else none."""
    return [[join_button(request.link)]] if bound and request.link is not None else []


def calendar_details(meeting: Meeting, bot_username: str) -> str:
    """What calendar entries say: where the personal link will come from (never the link)."""
    return _(
        "Your personal Jitsi link arrives from @{bot} {minutes} minutes before the start. "
        "Meeting code: {code}"
    ).format(bot=bot_username, minutes=meeting.remind_before_minutes, code=meeting.code)


def calendar_buttons(meeting: Meeting, bot_username: str) -> list[Button]:
    """A row with the .ics file and add-to-calendar links."""
    details = calendar_details(meeting, bot_username)
    return [
        Button(_("📅 .ics"), data=CalendarFile(meeting.code).encode()),
        Button("Google", url=google_calendar_link(meeting, details=details)),
        Button("Outlook", url=outlook_calendar_link(meeting, details=details)),
    ]


def link_keyboard(meeting: Meeting, bot_username: str) -> list[list[Button]]:
    """The buttons under a personal link message: the calendar row."""
    return [calendar_buttons(meeting, bot_username)]


def ics_for(
    session: Session, meeting: Meeting, bot_username: str, *, mail_host: str, now: datetime
) -> bytes:
    """The meeting's calendar file, with moved and skipped sittings of a series.

    The organizer is named with their /email; without one, with a no-reply address on
    `mail_host` (the Jitsi server's host), since RFC 5546 requires an ORGANIZER on a REQUEST.
    """
    moved, skipped = sittings.occurrence_changes(session, meeting=meeting)
    organizer = session.get(User, meeting.organizer_id)
    name = people.display(organizer) if organizer is not None else str(meeting.organizer_id)
    email = organizer.email if organizer is not None and organizer.email else None
    return build_ics(
        meeting,
        bot_link=f"https://t.me/{bot_username}",
        description=calendar_details(meeting, bot_username),
        organizer=Organizer(name=name, email=email or f"noreply@{mail_host}"),
        now=now,
        moved=moved,
        skipped=skipped,
    )


def notice_heading(kind: str) -> str:
    """The first line of a notice about a change."""
    headings = {
        notices.NoticeKind.INVITED: _("You are invited:"),
        notices.NoticeKind.JOINED: _("You joined:"),
        notices.NoticeKind.RESCHEDULED: _("📅 New time:"),
        notices.NoticeKind.CANCELLED: _("❌ Cancelled:"),
        notices.NoticeKind.SKIPPED: _("❌ One sitting skipped:"),
        notices.NoticeKind.MOVED: _("📅 One sitting moved:"),
        notices.NoticeKind.WAITLISTED: _("⏳ The meeting is full; you are on its waitlist:"),
        notices.NoticeKind.SEAT: _(
            "🎟 A seat is free for you: you are in. Your link comes before the start."
        ),
    }
    return headings.get(kind, "")


def render_notice(
    notice: Notice,
    meeting: Meeting,
    session: Session,
    zone: str,
    now: datetime,
    role: Role | None = None,
) -> str:
    """A notice about a change in the reader's zone: a skip or move shows its own sitting."""
    sitting = notice.occurrence_start
    if sitting is None:
        card = render_meeting_card(meeting, session, zone, now, role)
        return notice_heading(notice.kind) + "\n" + card
    length = meeting.ends_at - meeting.starts_at
    when = format_span(sitting, sitting + length, zone)
    if notice.new_start is None:
        lines = [when]
    else:
        new_when = format_span(notice.new_start, notice.new_start + length, zone)
        lines = [_("Was: {when}").format(when=when), _("Now: {when}").format(when=new_when)]
    return notice_heading(notice.kind) + "\n" + _card(meeting, lines, role)


# Where the bot's web server serves the Mini App (bot.web.miniapp), under PUBLIC_URL.
APP_PATH = "/app/"


def app_url(public_url: str) -> str:
    """Where the Mini App's page is."""
    return public_url.rstrip("/") + APP_PATH


def notice_keyboard(
    kind: str, meeting: Meeting, bot_username: str, *, mini_app: str | None = None
) -> list[list[Button]]:
    """Going / Maybe / Can't for an invitation; the calendar row on every notice; "Open in app"
    with the Mini App's address (notices go to private chats, where web_app buttons work).

    A cancelled meeting keeps only the .ics (it removes the meeting from calendars): the
    Google and Outlook links would add it again.
    """
    rows = []
    if kind in {
        notices.NoticeKind.INVITED,
        notices.NoticeKind.JOINED,
        notices.NoticeKind.WAITLISTED,
        notices.NoticeKind.SEAT,
    }:
        rows.append(rsvp_buttons(meeting.code))
    if kind == notices.NoticeKind.CANCELLED:
        rows.append([Button(_("📅 .ics"), data=CalendarFile(meeting.code).encode())])
    else:
        rows.append(calendar_buttons(meeting, bot_username))
        if mini_app is not None:
            rows.append([Button(_("Open in app"), web_app=mini_app)])
    return rows


# --- RSVP ----------------------------------------------------------------------------------


def answer_text(answer: str | None, waitlist_place: int | None = None) -> str:
    """Someone's answer in words, as /participants shows it."""
    if waitlist_place is not None:
        return _("on the waitlist (number {place})").format(place=waitlist_place)
    words = {
        Answer.GOING.value: _("going"),
        Answer.MAYBE.value: _("maybe"),
        Answer.CANT.value: _("can't come"),
    }
    return words.get(answer or "", _("no answer yet"))


def rsvp_buttons(code: str) -> list[Button]:
    """Going / Maybe / Can't: the answer can change at any time until the meeting ends."""
    return [
        Button(_("✅ Going"), data=Rsvp(RsvpAction.GOING, code).encode()),
        Button(_("🤔 Maybe"), data=Rsvp(RsvpAction.MAYBE, code).encode()),
        Button(_("❌ Can't"), data=Rsvp(RsvpAction.CANT, code).encode()),
    ]


def render_counts(counts: Counts) -> str:
    """The counts under a group's announcement (no names: Who shows them)."""
    lines = [
        _("✅ {going} going · 🤔 {maybe} maybe · ❌ {cant} can't").format(
            going=len(counts.going), maybe=len(counts.maybe), cant=len(counts.cant)
        )
    ]
    seats = []
    if counts.capacity is not None:
        seats.append(
            ngettext(
                "🎟 {free} of {capacity} seat free",
                "🎟 {free} of {capacity} seats free",
                counts.capacity,
            ).format(free=counts.free_seats, capacity=counts.capacity)
        )
    if counts.waiting:
        seats.append(_("⏳ {count} on the waitlist").format(count=len(counts.waiting)))
    if seats:
        lines.append(" · ".join(seats))
    return "\n".join(lines)


def render_announcement(
    meeting: Meeting, session: Session, *, organizer_name: str, counts: Counts, my_link: str
) -> tuple[str, list[list[Button]]]:
    """A group's message about a meeting: the card, live counts, the RSVP buttons."""
    card = render_meeting_card(meeting, session, meeting.zone, meeting.created_at)
    text = "\n".join(
        [
            _("📅 New meeting, planned by {name}:").format(name=html.escape(organizer_name)),
            card,
            render_counts(counts),
            _("Tap “Going” to take part; personal links come privately before the start."),
        ]
    )
    keyboard = [
        rsvp_buttons(meeting.code),
        [
            Button(_("👥 Who"), data=Rsvp(RsvpAction.WHO, meeting.code).encode()),
            Button(_("My link"), url=my_link),
        ],
    ]
    return text, keyboard


def render_who(counts: Counts) -> str:
    """The names behind each answer (plain text, for an alert or a private message)."""
    groups = [
        (_("✅ Going"), counts.going),
        (_("🤔 Maybe"), counts.maybe),
        (_("❌ Can't"), counts.cant),
        (_("⏳ Waitlist"), counts.waiting),
    ]
    lines = [f"{label}: {', '.join(names)}" for label, names in groups if names]
    return "\n".join(lines) or _("Nobody has answered yet.")


def render_capacity_change(change: CapacityChange, code: str) -> str:
    """What /capacity (and the app) answers after a new capacity: plain text, not HTML."""
    if change.capacity is None:
        lines = [_("{code} has no seat limit now.").format(code=code)]
    else:
        lines = [
            ngettext(
                "{code}: {capacity} seat (owners aside).",
                "{code}: {capacity} seats (owners aside).",
                change.capacity,
            ).format(code=code, capacity=change.capacity)
            + " "
            + _("Taken: {taken}. On the waitlist: {waiting}.").format(
                taken=change.seats_taken, waiting=change.waiting
            )
        ]
    if change.moved_up:
        lines.append(
            _("Moved up from the waitlist: {names}.").format(names=", ".join(change.moved_up))
        )
    return "\n".join(lines)
