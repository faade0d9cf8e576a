"""The texts the sender writes: the personal link message, the early reminder, the organizer's
summary, the group note."""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime

from bot.domain.links import bound_link
from bot.domain.reminders import describe_moment
from bot.domain.values import Occurrence
from bot.i18n import _, format_relative, format_span, ngettext
from bot.jitsi import Role
from bot.messaging import Button
from storage.models import Meeting


@dataclass(frozen=True)
class Tally:
    """How the links of one sitting are doing."""

    sent: int
    total: int
    unreachable_names: list[str]


def render_link_message(
    *,
    meeting: Meeting,
    occurrence: Occurrence,
    role: Role,
    link: str,
    zone: str,
    reason: str,
    now: datetime,
    click_time: bool = False,
    bound: bool = False,
) -> str:
    """The private message that carries a personal link (`click_time`: a PUBLIC_URL/j/ link,
    which mints its token when opened; `bound`: the link rides a Mini App button instead,
    see join_button)."""
    title = html.escape(meeting.title)
    when = format_span(occurrence.start, occurrence.end, zone)
    role_text = _("owner (moderator)") if role is Role.OWNER else _("member")
    if reason == "updated" and click_time:
        head = _("Your rights in “{title}” changed.").format(title=title)
        tail = _("Your link stays the same: it opens the meeting with your rights of the moment.")
    elif reason == "updated":
        head = _("Your rights in “{title}” changed. Here is a fresh link.").format(title=title)
        tail = _("Your previous link keeps working until it expires: a token cannot be revoked.")
    elif reason == "rotated" and click_time:
        head = _("“{title}” moved to a new room.").format(title=title)
        tail = _("Your link stays the same and now opens the new room.")
    elif reason == "relinked":
        head = _("Your link to “{title}” was replaced.").format(title=title)
        tail = _("The old one no longer works; use this one.")
    elif reason == "rotated":
        head = _("“{title}” moved to a new room. Old links now lead to an empty room.").format(
            title=title
        )
        tail = ""
    elif occurrence.start <= now:
        head = _("“{title}” started {ago} ago.").format(
            title=title, ago=format_relative(now - occurrence.start)
        )
        tail = ""
    else:
        head = _("“{title}” starts in {left}.").format(
            title=title, left=format_relative(occurrence.start - now)
        )
        tail = ""
    lines = [
        f"🔔 <b>{head}</b>",
        f"🕒 {html.escape(when)}",
        _("Your role: {role}").format(role=role_text),
        _("Meeting code: {code}").format(code=meeting.code),
        "",
    ]
    if bound:
        lines.append(_("Join with the button below: it opens the meeting only for you."))
    else:
        lines += [_("Your personal link (only for you, don't forward it):"), html.escape(link)]
    if tail:
        lines += ["", tail]
    return "\n".join(lines)


def join_button(link: str) -> Button:
    """The Mini App button of a bound link (private chats only: Telegram refuses it in groups)."""
    return Button(_("🎥 Join the meeting"), web_app=bound_link(link))


def render_reminder(*, meeting: Meeting, occurrence: Occurrence, zone: str, now: datetime) -> str:
    """An early reminder in the reader's zone: when, the code, when the link comes (never a
    link: that comes in its own message inside the join window)."""
    left = round((occurrence.start - now).total_seconds() / 60)
    lines = [
        "⏰ <b>"
        + _("“{title}” starts in {left}.").format(
            title=html.escape(meeting.title), left=describe_moment(max(left, 1))
        )
        + "</b>",
        f"🕒 {html.escape(format_span(occurrence.start, occurrence.end, zone))}",
        _("Meeting code: {code}").format(code=meeting.code),
        "",
        _("Your personal link comes here {left} before the start.").format(
            left=describe_moment(meeting.remind_before_minutes)
        ),
    ]
    return "\n".join(lines)


def render_summary(*, title: str, code: str, tally: Tally, link: str) -> str:
    """The organizer's one message once the links of a sitting went out."""
    text = _("“{title}” ({code}): {sent} of {total} have their links.").format(
        title=html.escape(title), code=code, sent=tally.sent, total=tally.total
    )
    if tally.unreachable_names:
        names = ", ".join(html.escape(name) for name in tally.unreachable_names)
        text += "\n" + ngettext(
            "{count} person can't be reached yet: {names}. They need to start me; "
            "forward them this link: {link}",
            "{count} people can't be reached yet: {names}. They need to start me; "
            "forward them this link: {link}",
            len(tally.unreachable_names),
        ).format(count=len(tally.unreachable_names), names=names, link=link)
    return text


def render_group_note(*, title: str, code: str, tally: Tally) -> str:
    """The one group message about a sitting's links (edited, never re-posted)."""
    text = _(
        "🔔 “{title}” ({code}): personal links went out in private messages ({sent} of {total})."
    ).format(title=html.escape(title), code=code, sent=tally.sent, total=tally.total)
    if tally.unreachable_names:
        text += "\n" + _("No link yet? Tap “Get my link” and start the bot.")
    return text
