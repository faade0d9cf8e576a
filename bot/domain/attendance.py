"""Who came to a sitting, from the room's presences: the owners' report, /attendance and its CSV.

Each person once: their connections to the room (several devices, a reconnect, a breakout
room) are merged into the time they were in it.
"""

from __future__ import annotations

import csv
import html
import io
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from bot.domain import links, rooms
from bot.domain.access import require_manager
from bot.domain.lookup import find_meeting, participants
from bot.domain.people import display, user_zone
from bot.domain.rooms import RoomNoticeKind
from bot.domain.values import Actor, Occurrence, Rules
from bot.errors import NotFound
from bot.i18n import _, format_clock, format_duration, format_span, ngettext
from bot.jitsi import LinkSigner
from storage.models import (
    LinkHandle,
    Meeting,
    Notice,
    Participant,
    RoomPresence,
    RoomSitting,
    User,
)


@dataclass(frozen=True)
class Came:
    """A participant who was in the room."""

    user_id: int
    name: str
    first_joined: datetime
    last_left: datetime
    time_in_room: timedelta


@dataclass(frozen=True)
class Attendance:
    """One sitting's attendance, each participant in exactly one list."""

    meeting: Meeting
    occurrence: Occurrence
    came: list[Came]
    opened_only: list[str]  # opened their link, never in the room
    never_opened: list[str]  # never opened it (or, without click-time links, not in the room)
    links_known: bool  # whether link opens are recorded (PUBLIC_URL)
    others: int  # connections with no token the bot wrote


def sitting_attendance(
    session: Session, meeting: Meeting, sitting: RoomSitting, rules: Rules, now: datetime
) -> Attendance:
    """Who came to this sitting, and who of the others opened their link in its window."""
    length = meeting.ends_at - meeting.starts_at
    occurrence = Occurrence(sitting.occurrence_start, sitting.occurrence_start + length)
    closes = min(now, occurrence.end + rules.token_grace)
    presences = session.exec(
        select(RoomPresence).where(RoomPresence.room_sitting_id == sitting.id)
    ).all()
    spans: dict[int, list[tuple[datetime, datetime]]] = {}
    others = 0
    for presence in presences:
        if presence.user_id is None:
            others += 1
            continue
        end = presence.left_at or max(closes, presence.joined_at)
        spans.setdefault(presence.user_id, []).append((presence.joined_at, end))
    opens = occurrence.start - rules.join_early
    opened = {
        row.user_id
        for row in session.exec(
            select(LinkHandle).where(
                LinkHandle.meeting_id == meeting.id,
                col(LinkHandle.last_opened_at) >= opens,
            )
        ).all()
    }
    came: list[Came] = []
    opened_only: list[str] = []
    never: list[str] = []
    known: set[int] = set()
    for row, user in participants(session, meeting):
        if row.user_id is None or user is None:
            continue
        known.add(row.user_id)
        name = display(user)
        if row.user_id in spans:
            came.append(_came(row.user_id, name, spans[row.user_id]))
        elif row.user_id in opened:
            opened_only.append(name)
        else:
            never.append(name)
    # People in the room who are no longer participants are still people who came.
    for user_id, intervals in spans.items():
        if user_id not in known:
            user = session.get(User, user_id)
            came.append(_came(user_id, display(user) if user else str(user_id), intervals))
    came.sort(key=lambda person: person.first_joined)
    return Attendance(
        meeting,
        occurrence,
        came,
        opened_only,
        never,
        links_known=rules.public_url is not None,
        others=others,
    )


def _came(user_id: int, name: str, intervals: list[tuple[datetime, datetime]]) -> Came:
    """One person's connections merged: first in, last out, time in the room (overlaps once)."""
    intervals.sort()
    total = timedelta()
    current_start, current_end = intervals[0]
    for start, end in intervals[1:]:
        if start > current_end:
            total += current_end - current_start
            current_start, current_end = start, end
        else:
            current_end = max(current_end, end)
    total += current_end - current_start
    return Came(user_id, name, intervals[0][0], max(end for _start, end in intervals), total)


def attendance_for(
    session: Session, *, code: str, actor: Actor, rules: Rules, now: datetime
) -> Attendance:
    """The latest sitting's attendance of a meeting, for its owners and admins."""
    meeting = find_meeting(session, code)
    require_manager(session, meeting, actor)
    sitting = session.exec(
        select(RoomSitting)
        .where(RoomSitting.meeting_id == meeting.id, col(RoomSitting.occurrence_start) <= now)
        .order_by(col(RoomSitting.occurrence_start).desc())
    ).first()
    if sitting is None:
        raise NotFound(
            _("Nobody has been in the room of {code} yet, so there is no attendance.").format(
                code=meeting.code
            )
        )
    return sitting_attendance(session, meeting, sitting, rules, now)


# --- texts ----------------------------------------------------------------------------------


def render_report(attendance: Attendance, zone: str) -> str:
    """The report as a message (HTML), in the current language and the reader's zone."""
    meeting = attendance.meeting
    occurrence = attendance.occurrence
    lines = [
        "<b>" + html.escape(_("Attendance: {title}").format(title=meeting.title)) + "</b>",
        html.escape(format_span(occurrence.start, occurrence.end, zone)),
        "",
        html.escape(
            ngettext("{count} person came:", "{count} people came:", len(attendance.came)).format(
                count=len(attendance.came)
            )
        ),
    ]
    for person in attendance.came:
        lines.append(
            "• "
            + html.escape(
                _("{name}: {joined}–{left} ({duration})").format(
                    name=person.name,
                    joined=format_clock(person.first_joined, zone),
                    left=format_clock(person.last_left, zone),
                    duration=format_duration(person.time_in_room),
                )
            )
        )
    if attendance.links_known:
        groups = [
            (_("Opened their link but did not come:"), attendance.opened_only),
            (_("Never opened their link:"), attendance.never_opened),
        ]
    else:
        groups = [(_("Did not come:"), attendance.never_opened)]
    for heading, names in groups:
        if names:
            lines += ["", html.escape(heading)]
            lines += ["• " + html.escape(name) for name in names]
    if attendance.others:
        lines += [
            "",
            html.escape(
                ngettext(
                    "{count} more connection without a link from the bot.",
                    "{count} more connections without a link from the bot.",
                    attendance.others,
                ).format(count=attendance.others)
            ),
        ]
    lines += [
        "",
        html.escape(_("/attendance {code} csv sends it as a table.").format(code=meeting.code)),
    ]
    return "\n".join(lines)


def render_csv(attendance: Attendance, zone: str) -> bytes:
    """The report as a CSV table: one row per participant."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [_("name"), _("status"), _("first joined"), _("last left"), _("minutes in the room")]
    )
    for person in attendance.came:
        writer.writerow(
            [
                _csv_cell(person.name),
                _("came"),
                person.first_joined.astimezone(ZoneInfo(zone)).isoformat(timespec="minutes"),
                person.last_left.astimezone(ZoneInfo(zone)).isoformat(timespec="minutes"),
                round(person.time_in_room.total_seconds() / 60),
            ]
        )
    for name in attendance.opened_only:
        writer.writerow([_csv_cell(name), _("opened the link, did not come"), "", "", 0])
    for name in attendance.never_opened:
        status = _("never opened the link") if attendance.links_known else _("did not come")
        writer.writerow([_csv_cell(name), status, "", "", 0])
    # A BOM so that spreadsheet programs read the names as UTF-8.
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def csv_filename(attendance: Attendance) -> str:
    """attendance-<code>-<date>.csv"""
    return f"attendance-{attendance.meeting.code}-{attendance.occurrence.start:%Y-%m-%d}.csv"


def _csv_cell(text: str) -> str:
    """A name a spreadsheet will not run as a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def render_room_notice(
    session: Session,
    *,
    notice: Notice,
    meeting: Meeting,
    user: User,
    participant: Participant | None,
    signer: LinkSigner,
    rules: Rules,
    now: datetime,
) -> str | None:
    """The text of a room notice for its reader now; None when it no longer applies."""
    if notice.occurrence_start is None:
        return None
    sitting = rooms.sitting_of(session, meeting, notice.occurrence_start)
    if sitting is None:
        return None
    zone = user_zone(user, rules)
    if notice.kind == RoomNoticeKind.ATTENDANCE:
        return render_report(sitting_attendance(session, meeting, sitting, rules, now), zone)
    if sitting.owner_arrived_at is not None or participant is None:
        return None
    waiting = rooms.people_waiting(session, sitting)
    if waiting == 0:
        return None
    length = meeting.ends_at - meeting.starts_at
    occurrence = Occurrence(notice.occurrence_start, notice.occurrence_start + length)
    link = links.personal_link(
        session,
        signer=signer,
        meeting=meeting,
        participant=participant,
        user=user,
        occurrence=occurrence,
        rules=rules,
        now=now,
    )
    heading = ngettext(
        "{count} person is waiting in {title}, and no owner is there yet.",
        "{count} people are waiting in {title}, and no owner is there yet.",
        waiting,
    ).format(count=waiting, title=meeting.title)
    return (
        "<b>"
        + html.escape(heading)
        + "</b>\n"
        + html.escape(_("Your link:"))
        + f' <a href="{html.escape(link, quote=True)}">'
        + html.escape(_("join {title}").format(title=meeting.title))
        + "</a>"
    )
