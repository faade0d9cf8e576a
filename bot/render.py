"""Texts and keyboards about meetings, in the reader's language (set by the caller)."""

from __future__ import annotations

import html
from datetime import datetime

from sqlmodel import Session

from bot import meetings, timeparse
from bot.calendar import build_ics, google_calendar_link, outlook_calendar_link
from bot.i18n import _, current_language, format_span, format_when
from bot.jitsi import Role
from bot.meetings import LinkRequest
from bot.messaging import Button
from storage.models import Meeting


def role_name(role: Role) -> str:
    """A role in words."""
    return _("owner") if role is Role.OWNER else _("member")


def render_meeting_card(
    meeting: Meeting, session: Session, zone: str, now: datetime, role: Role | None = None
) -> str:
    """Title, code, next time in the reader's zone, repeat rule, and the reader's role."""
    occurrence = meetings.occurrence_after(session, meeting, now)
    lines = [f"<b>{html.escape(meeting.title)}</b> · <code>{meeting.code}</code>"]
    if occurrence is not None:
        lines.append("🕒 " + html.escape(format_span(occurrence.start, occurrence.end, zone)))
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


def render_link_reply(request: LinkRequest, zone: str) -> str:
    """The personal link now, or when it will be available."""
    if request.link is None:
        return _(
            "Your personal link will be ready from {time}. Ask again with /link {code}."
        ).format(time=html.escape(format_when(request.opens, zone)), code=request.meeting.code)
    return "\n".join(
        [
            _("Your role: {role}").format(role=role_name(request.role)),
            _("Your personal link (only for you, don't forward it):"),
            html.escape(request.link),
        ]
    )


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
        Button(_("📅 .ics"), data=f"ic:{meeting.code}"),
        Button("Google", url=google_calendar_link(meeting, details=details)),
        Button("Outlook", url=outlook_calendar_link(meeting, details=details)),
    ]


def ics_for(session: Session, meeting: Meeting, bot_username: str) -> bytes:
    """The meeting's calendar file, with moved and skipped sittings of a series."""
    moved, skipped = meetings.occurrence_changes(session, meeting=meeting)
    return build_ics(
        meeting,
        bot_link=f"https://t.me/{bot_username}",
        description=calendar_details(meeting, bot_username),
        moved=moved,
        skipped=skipped,
    )


def notice_heading(kind: str) -> str:
    """The first line of a notice about a change."""
    headings = {
        meetings.NoticeKind.INVITED: _("You are invited:"),
        meetings.NoticeKind.JOINED: _("You joined:"),
        meetings.NoticeKind.RESCHEDULED: _("📅 New time:"),
        meetings.NoticeKind.CANCELLED: _("❌ Cancelled:"),
        meetings.NoticeKind.SKIPPED: _("❌ One sitting skipped:"),
        meetings.NoticeKind.MOVED: _("📅 One sitting moved:"),
    }
    return headings.get(kind, "")


def notice_keyboard(kind: str, meeting: Meeting, bot_username: str) -> list[list[Button]]:
    """Decline for an invitation; the calendar row on every notice."""
    rows = []
    if kind == meetings.NoticeKind.INVITED:
        rows.append([Button(_("Decline"), data=f"dc:{meeting.code}")])
    rows.append(calendar_buttons(meeting, bot_username))
    return rows
