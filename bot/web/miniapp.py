"""The Mini App: its page (PUBLIC_URL/app/) and its JSON API (PUBLIC_URL/app/api/...).

Every API request carries Telegram's signed init data (`Authorization: tma <initData>`), checked
here each time; then it goes through the same domain functions as the commands. Refusals from
the domain are already in the reader's language and become {"error": message}.
"""

from __future__ import annotations

import itertools
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import date, datetime
from importlib import resources
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from aiohttp import web
from babel import Locale
from sqlmodel import Session, col, or_, select

from bot import timeparse
from bot.config import SUPPORTED_LANGUAGES
from bot.domain import (
    access,
    attendance,
    audit,
    links,
    lookup,
    participation,
    people,
    reminders,
    roles,
    rsvp,
    scheduling,
    series,
    sittings,
)
from bot.domain.sittings import load_sittings
from bot.domain.values import Actor
from bot.errors import DomainError, InvalidInput, NotAllowed, NotFound
from bot.i18n import (
    _,
    current_language,
    format_clock,
    format_duration,
    format_span,
    format_when,
    ngettext,
    pick_language,
    use_language,
)
from bot.jitsi import FEATURES, Role, resolve_features
from bot.render import APP_PATH, render_capacity_change, role_name
from bot.services import Services
from bot.web.initdata import WebAppUser, verify
from storage.db import session_scope
from storage.models import Meeting, MeetingStatus, User

log = logging.getLogger(__name__)

AUTH_SCHEME = "tma"
# startapp=g<chat id>: the Mini App opened from a group's t.me link shows that group's meetings.
GROUP_PREFIX = "g"
# How many coming sittings of a series the owner's view offers to skip or move.
SITTINGS_SHOWN = 6
STATIC_FILES = {"app.js": "text/javascript", "app.css": "text/css"}
# Recurrence presets of the form: the RRULE for a first sitting on `day` (each matches it).
_WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
REPEATS: dict[str, Callable[[date], str]] = {
    "daily": lambda day: "FREQ=DAILY",
    "weekly": lambda day: f"FREQ=WEEKLY;BYDAY={_WEEKDAYS[day.weekday()]}",
    "biweekly": lambda day: f"FREQ=WEEKLY;INTERVAL=2;BYDAY={_WEEKDAYS[day.weekday()]}",
    "monthly": lambda day: f"FREQ=MONTHLY;BYMONTHDAY={day.day}",
}
_PRIVATE = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}
# Telegram's web clients show the page in a frame; nothing else loads it or is loaded by it.
_PAGE_HEADERS = {
    **_PRIVATE,
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "img-src 'self' data:; base-uri 'none'; form-action 'none'; "
        "frame-ancestors https://web.telegram.org https://*.telegram.org"
    ),
}


class TelegramSide(Protocol):
    """What the API needs from Telegram itself (bot/handlers/miniapp.py implements it)."""

    @property
    def bot_username(self) -> str:
        """The bot's @username."""
        ...

    async def actor(self, user_id: int, chat_id: int | None) -> Actor:
        """Who acts, with bot-admin and group-admin rights checked now."""
        ...

    async def is_member(self, chat_id: int, user_id: int) -> bool:
        """Whether the person is in the group now."""
        ...

    async def announce(self, *, meeting_id: int, chat_id: int, organizer_name: str) -> None:
        """Post a new meeting's message in its group, as the /schedule Confirm does."""
        ...


@dataclass(frozen=True)
class Caller:
    """A checked request: who, in which language and zone, opened from where."""

    user: WebAppUser
    language: str
    zone: str
    group: int | None


Endpoint = Callable[[web.Request, Caller], Awaitable[Any]]


def group_start_param(chat_id: int) -> str:
    """The startapp payload that opens the Mini App on a group's meetings."""
    return f"{GROUP_PREFIX}{chat_id}"


def _group_of(start_param: str | None) -> int | None:
    if not start_param or not start_param.startswith(GROUP_PREFIX):
        return None
    try:
        chat_id = int(start_param[len(GROUP_PREFIX) :])
    except ValueError:
        return None
    return chat_id if chat_id < 0 else None


class MiniApp:
    """The page and the API, added to the bot's web server."""

    def __init__(self, services: Services, telegram: TelegramSide) -> None:
        self._services = services
        self._telegram = telegram

    def add_routes(self, app: web.Application, prefix: str) -> None:
        """GET the page and its files; the API under /app/api/."""
        base = prefix + APP_PATH
        app.router.add_get(base, self._page)
        app.router.add_get(base + "static/{name}", self._static)
        api: dict[tuple[str, str], Endpoint] = {
            ("GET", "me"): self._me,
            ("GET", "meetings"): self._meetings,
            ("GET", "people"): self._people,
            ("POST", "preview"): self._preview,
            ("POST", "meetings"): self._schedule,
            ("GET", "meetings/{code}"): self._meeting,
            ("POST", "meetings/{code}/role"): self._role,
            ("POST", "meetings/{code}/cancel"): self._cancel,
            ("POST", "meetings/{code}/reschedule"): self._reschedule,
            ("POST", "meetings/{code}/features"): self._features,
            ("POST", "meetings/{code}/skip"): self._skip,
            ("POST", "meetings/{code}/move"): self._move,
            ("POST", "meetings/{code}/rotate"): self._rotate,
            ("GET", "meetings/{code}/history"): self._history,
            ("POST", "meetings/{code}/capacity"): self._capacity,
            ("POST", "meetings/{code}/reminders"): self._reminders,
            ("GET", "meetings/{code}/attendance"): self._attendance,
            ("POST", "settings"): self._settings,
        }
        for (method, path), endpoint in api.items():
            app.router.add_route(method, base + "api/" + path, self._checked(endpoint))

    # --- the page ----------------------------------------------------------------------------

    async def _page(self, request: web.Request) -> web.Response:
        body = _static_text("index.html")
        return web.Response(
            text=body, content_type="text/html", charset="utf-8", headers=_PAGE_HEADERS
        )

    async def _static(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name not in STATIC_FILES:
            raise web.HTTPNotFound()
        return web.Response(
            text=_static_text(name),
            content_type=STATIC_FILES[name],
            charset="utf-8",
            headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"},
        )

    # --- checking every request --------------------------------------------------------------

    def _checked(self, endpoint: Endpoint) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def handle(request: web.Request) -> web.Response:
            services = self._services
            scheme, _sep, init_data = request.headers.get("Authorization", "").partition(" ")
            user = None
            if scheme.lower() == AUTH_SCHEME:
                user = verify(
                    init_data.strip(),
                    bot_token=services.settings.require_bot_token(),
                    now=services.clock(),
                )
            if user is None:
                with use_language(services.settings.default_language):
                    return _json(
                        {"error": _("This page must be opened from Telegram. Open it again.")},
                        401,
                    )
            caller = self._caller(user)
            with use_language(caller.language):
                try:
                    return _json(await endpoint(request, caller))
                except DomainError as error:
                    return _json(*response_for_error(error))

        return handle

    def _caller(self, user: WebAppUser) -> Caller:
        services = self._services
        with session_scope(services.engine) as session:
            # The Mini App is an update like any other: the person is remembered (a page is
            # not a private message, so it says nothing about whether the bot may write).
            known = people.remember_user(
                session,
                user_id=user.id,
                username=user.username,
                display_name=user.full_name,
                telegram_language=user.language_code,
            )
            language = pick_language(
                known.language, user.language_code, services.settings.default_language
            )
            zone = people.user_zone(known, services.rules)
        return Caller(user, language, zone, _group_of(user.start_param))

    # --- reading -----------------------------------------------------------------------------

    async def _me(self, request: web.Request, caller: Caller) -> dict[str, Any]:
        with session_scope(self._services.engine) as session:
            user = lookup.require_user(session, caller.user.id)
            email = user.email
            language = user.language
            default_reminders = typed_moments(user.reminder_minutes)
        return {
            "name": caller.user.full_name,
            "language": language or caller.language,
            "zone": caller.zone,
            "email": email or "",
            "reminders": default_reminders,
            "languages": [
                {"code": code, "name": Locale.parse(code).get_display_name(code) or code}
                for code in SUPPORTED_LANGUAGES
            ],
            "group": caller.group is not None,
            "today": self._services.clock().astimezone(ZoneInfo(caller.zone)).date().isoformat(),
            "texts": ui_texts(),
        }

    async def _meetings(self, request: web.Request, caller: Caller) -> dict[str, Any]:
        services = self._services
        now = services.clock()
        if caller.group is not None and not await self._telegram.is_member(
            caller.group, caller.user.id
        ):
            raise NotAllowed(_("Only members of that group can see its meetings."))
        with session_scope(services.engine) as session:
            found: list[tuple[Meeting, Role | None]]
            if caller.group is None:
                items = participation.upcoming_for(session, user_id=caller.user.id, now=now)
                found = [(meeting, role) for meeting, role, _o in items]
                title = _("My meetings")
            else:
                found = [
                    (meeting, access.participant_role(session, meeting, caller.user.id))
                    for meeting in _group_meetings(session, caller.group, now)
                ]
                title = _("This group's meetings")
            cards = [self._card(session, meeting, role, caller, now) for meeting, role in found]
        return {"title": title, "meetings": [card for card in cards if card is not None]}

    def _card(
        self, session: Session, meeting: Meeting, role: Role | None, caller: Caller, now: datetime
    ) -> dict[str, Any] | None:
        services = self._services
        occurrence = sittings.occurrence_after(session, meeting, now)
        if occurrence is None:
            return None
        window = links.link_window(occurrence, services.rules)
        join = None
        if role is not None and window.opens <= now:
            request = links.request_link(
                session,
                signer=services.signer,
                meeting=meeting,
                user_id=caller.user.id,
                rules=services.rules,
                now=now,
            )
            join = request.link
        actor = Actor(
            user_id=caller.user.id,
            is_bot_admin=access.is_bot_admin(session, caller.user.id, services.rules),
        )
        return {
            "code": meeting.code,
            "title": meeting.title,
            "when": format_span(occurrence.start, occurrence.end, caller.zone),
            "repeat": _repeat_text(meeting.rrule, meeting.zone),
            "role": role.value if role is not None else None,
            "role_name": role_name(role) if role is not None else _("not in it"),
            "manage": access.may_manage(session, meeting, actor),
            "join": join,
            "join_in_place": join is not None and services.rules.bind_links,
            "opens": None if join else format_when(window.opens, caller.zone),
        }

    async def _people(self, request: web.Request, caller: Caller) -> dict[str, Any]:
        with session_scope(self._services.engine) as session:
            met = people.people_met(session, user_id=caller.user.id)
            return {"people": [{"id": user.id, "name": people.display(user)} for user in met]}

    async def _meeting(self, request: web.Request, caller: Caller) -> dict[str, Any]:
        """An owner's view: the meeting with its participants (refused to members)."""
        services = self._services
        now = services.clock()
        code = request.match_info["code"]
        meeting = self._find(code)
        actor = await self._telegram.actor(caller.user.id, meeting.chat_id)
        with session_scope(services.engine) as session:
            meeting = lookup.find_meeting(session, code)
            access.require_manager(session, meeting, actor)
            card = self._card(
                session,
                meeting,
                access.participant_role(session, meeting, caller.user.id),
                caller,
                now,
            )
            rows = [
                {
                    "id": user.id if user is not None else None,
                    "name": people.display(user)
                    if user is not None
                    else f"@{row.pending_username}",
                    "owner": row.role == Role.OWNER,
                    "me": row.user_id == caller.user.id,
                }
                for row, user in lookup.participants(session, meeting)
            ]
            occurrence = sittings.occurrence_after(session, meeting, now)
            local = occurrence.start.astimezone(ZoneInfo(caller.zone)) if occurrence else None
            minutes = int((meeting.ends_at - meeting.starts_at).total_seconds() // 60)
            members_get = resolve_features(Role.MEMBER, meeting.feature_defaults)
            coming = (
                list(
                    itertools.islice(load_sittings(session, meeting).upcoming(now), SITTINGS_SHOWN)
                )
                if meeting.rrule is not None
                else []
            )
            return {
                "meeting": card,
                "participants": rows,
                "date": local.date().isoformat() if local else "",
                "time": local.strftime("%H:%M") if local else "",
                "duration": minutes,
                "series": meeting.rrule is not None,
                "sittings": [
                    {
                        "date": sitting.start.astimezone(ZoneInfo(caller.zone)).date().isoformat(),
                        "when": format_span(sitting.start, sitting.end, caller.zone),
                    }
                    for sitting in coming
                ],
                "features": [{"name": name, "on": members_get[name]} for name in FEATURES],
                "capacity": meeting.capacity,
                "reminders": typed_moments(meeting.reminder_minutes),
                "reminders_text": _meeting_reminders_text(meeting.code, meeting.reminder_minutes),
            }

    # --- changing ----------------------------------------------------------------------------

    async def _preview(self, request: web.Request, caller: Caller) -> dict[str, Any]:
        draft = self._draft(await _body(request), caller)
        return {
            "when": format_span(draft.starts_at, draft.ends_at, caller.zone),
            "repeat": _repeat_text(draft.rrule, draft.zone),
        }

    async def _schedule(self, request: web.Request, caller: Caller) -> dict[str, Any]:
        services = self._services
        body = await _body(request)
        draft = self._draft(body, caller)
        invitees = [int(item) for item in body.get("invite") or [] if str(item).isdigit()]
        group = caller.group
        if group is not None and not await self._telegram.is_member(group, caller.user.id):
            raise NotAllowed(_("Only members of that group can see its meetings."))
        now = services.clock()
        with session_scope(services.engine) as session:
            meeting = scheduling.create_meeting(
                session,
                draft=draft,
                organizer_id=caller.user.id,
                chat_id=group,
                rules=services.rules,
                now=now,
            )
            if invitees:
                participation.invite(
                    session,
                    meeting=meeting,
                    actor=Actor(user_id=caller.user.id),
                    user_ids=invitees,
                    usernames=[],
                    now=now,
                )
            meeting_id = lookup.meeting_id(meeting)
            code = meeting.code
        if group is not None:
            await self._telegram.announce(
                meeting_id=meeting_id, chat_id=group, organizer_name=caller.user.full_name
            )
        return {"code": code, "message": _("Saved. You are the owner.")}

    async def _role(self, request: web.Request, caller: Caller) -> dict[str, Any]:
        body = await _body(request)
        try:
            target = int(str(body.get("user_id")))
        except (TypeError, ValueError):
            raise InvalidInput(_("That person is not in this meeting.")) from None
        role = Role.OWNER if body.get("owner") else Role.MEMBER
        code = request.match_info["code"]
        actor = await self._telegram.actor(caller.user.id, self._find(code).chat_id)
        services = self._services
        with session_scope(services.engine) as session:
            meeting = lookup.find_meeting(session, code)
            roles.set_role(
                session,
                meeting=meeting,
                actor=actor,
                target_user_id=target,
                role=role,
                now=services.clock(),
            )
        return {"owner": role is Role.OWNER}

    async def _cancel(self, request: web.Request, caller: Caller) -> dict[str, Any]:
        code = request.match_info["code"]
        actor = await self._telegram.actor(caller.user.id, self._find(code).chat_id)
        services = self._services
        with session_scope(services.engine) as session:
            meeting = lookup.find_meeting(session, code)
            scheduling.cancel_meeting(session, meeting=meeting, actor=actor, now=services.clock())
        return {"message": _("Meeting {code} is cancelled.").format(code=code)}

    async def _reschedule(self, request: web.Request, caller: Caller) -> dict[str, Any]:
        body = await _body(request)
        code = request.match_info["code"]
        actor = await self._telegram.actor(caller.user.id, self._find(code).chat_id)
        services = self._services
        with session_scope(services.engine) as session:
            meeting = lookup.find_meeting(session, code)
            draft = self._draft({**body, "title": meeting.title, "repeat": ""}, caller)
            scheduling.reschedule(
                session, meeting=meeting, actor=actor, draft=draft, now=services.clock()
            )
            when = format_span(draft.starts_at, draft.ends_at, caller.zone)
        return {"message": _("Moved to {when}.").format(when=when)}

    async def _settings(self, request: web.Request, caller: Caller) -> dict[str, Any]:
        body = await _body(request)
        user_id = caller.user.id
        with session_scope(self._services.engine) as session:
            if zone := str(body.get("zone") or "").strip():
                people.set_timezone(session, user_id=user_id, query=zone)
            if language := str(body.get("language") or "").strip():
                if language not in SUPPORTED_LANGUAGES:
                    raise InvalidInput(
                        _("Send /language and one of: {languages}.").format(
                            languages=", ".join(SUPPORTED_LANGUAGES)
                        )
                    )
                people.set_user_language(session, user_id=user_id, language=language)
            if "email" in body:
                email = str(body.get("email") or "").strip()
                people.set_email(session, user_id=user_id, text=email or "off")
            if "reminders" in body:
                # As /reminders 1h 10m in private: the default for meetings without their own.
                typed = str(body.get("reminders") or "").strip()
                choice = reminders.read_choice(typed or reminders.Word.OFF.value)
                if choice in (reminders.Word.ON, reminders.Word.DEFAULT):
                    raise InvalidInput(reminders.usage())
                reminders.set_default(
                    session,
                    user_id=user_id,
                    minutes=choice if isinstance(choice, list) else None,
                    now=self._services.clock(),
                )
        return {"message": _("Saved.")}

    async def _features(self, request: web.Request, caller: Caller) -> dict[str, Any]:
        """Members' features in the meeting, switched as /features CODE name=on|off does."""
        body = await _body(request)
        changes = body.get("changes")
        if not isinstance(changes, dict):
            changes = {}
        # Read as the command reads `name=on`: an unknown name gets its message.
        words = [f"{name}={'on' if on else 'off'}" for name, on in changes.items()]
        code, actor = await self._owner(request, caller)
        services = self._services
        with session_scope(services.engine) as session:
            meeting = lookup.find_meeting(session, code)
            access.require_manager(session, meeting, actor)
            parsed = roles.parse_feature_changes(words)
            resent = roles.set_features(
                session,
                meeting=meeting,
                actor=actor,
                changes=parsed,
                target_user_id=None,
                now=services.clock(),
            )
            code = meeting.code
        summary = ", ".join(f"{name}={'on' if value else 'off'}" for name, value in parsed.items())
        text = _("Features for {who} in {code}: {changes}.").format(
            who=_("everyone"), code=code, changes=summary
        )
        if resent:
            text += "\n" + ngettext(
                "{count} person gets a fresh link. Old links keep working until they expire; "
                "use /rotate {code} to shut them out.",
                "{count} people get a fresh link. Old links keep working until they expire; "
                "use /rotate {code} to shut them out.",
                len(resent),
            ).format(count=len(resent), code=code)
        return {"message": text}

    async def _skip(self, request: web.Request, caller: Caller) -> dict[str, Any]:
        """One sitting of a series skipped, as /skip CODE date and its Confirm do."""
        body = await _body(request)
        return await self._change_sitting(request, caller, body, move=False)

    async def _move(self, request: web.Request, caller: Caller) -> dict[str, Any]:
        """One sitting of a series moved, as /move CODE date | new time and its Confirm do."""
        body = await _body(request)
        return await self._change_sitting(request, caller, body, move=True)

    async def _change_sitting(
        self, request: web.Request, caller: Caller, body: dict[str, Any], *, move: bool
    ) -> dict[str, Any]:
        code, actor = await self._owner(request, caller)
        services = self._services
        now = services.clock()
        with session_scope(services.engine) as session:
            meeting = access.meeting_to_change(session, code=code, actor=actor, now=now)
            original = series.pick_sitting(
                session,
                meeting=meeting,
                date_text=str(body.get("sitting") or "").strip()[:10],
                zone=caller.zone,
                now=now,
            )
            new_start = None
            if move:
                day, clock = str(body.get("date") or "").strip(), str(body.get("time") or "")
                if not day or not clock.strip():
                    raise InvalidInput(_("The date and time are missing."))
                new_start, _rrule = scheduling.parse_start(
                    f"{day[:10]} {clock.strip()[:5]}",
                    zone=caller.zone,
                    languages=list(dict.fromkeys([current_language(), "en"])),
                    now=now,
                )
            series.change_occurrence(
                session,
                meeting=meeting,
                actor=actor,
                original_start=original,
                new_start=new_start,
                now=now,
            )
        if new_start is None:
            text = _("Skipped the sitting of {when}.").format(
                when=format_when(original, caller.zone)
            )
        else:
            text = _("Moved the sitting of {old} to {new}.").format(
                old=format_when(original, caller.zone), new=format_when(new_start, caller.zone)
            )
        return {"message": text}

    async def _rotate(self, request: web.Request, caller: Caller) -> dict[str, Any]:
        """A new room, as /rotate CODE does: old links lead to an empty room."""
        code, actor = await self._owner(request, caller)
        services = self._services
        with session_scope(services.engine) as session:
            meeting = lookup.find_meeting(session, code)
            resent = roles.rotate_room(session, meeting=meeting, actor=actor, now=services.clock())
            code = meeting.code
        return {
            "message": _(
                "{code} has a new room. Old links lead to an empty room; "
                "{count} fresh links go out."
            ).format(code=code, count=resent)
        }

    async def _history(self, request: web.Request, caller: Caller) -> dict[str, Any]:
        """The latest changes, as /history CODE lists them."""
        code, actor = await self._owner(request, caller)
        with session_scope(self._services.engine) as session:
            meeting = lookup.find_meeting(session, code)
            events = audit.history(session, meeting=meeting, actor=actor)
            lines = []
            for event in events:
                actor_user = session.get(User, event.actor_id)
                target = session.get(User, event.target_user_id) if event.target_user_id else None
                lines.append(
                    {
                        "when": format_when(event.at, caller.zone, with_zone=False),
                        "text": (
                            f"{people.display(actor_user) if actor_user else event.actor_id} "
                            f"{event.action}"
                            + (f" {people.display(target)}" if target else "")
                            + (f" {event.detail}" if event.detail else "")
                        ),
                    }
                )
            title = _("Latest changes to {code}:").format(code=meeting.code)
        return {"title": title, "events": lines}

    async def _capacity(self, request: web.Request, caller: Caller) -> dict[str, Any]:
        """The seats, as /capacity CODE 20|off sets them (empty: no limit)."""
        body = await _body(request)
        typed = str(body.get("seats") if body.get("seats") is not None else "").strip()
        code, actor = await self._owner(request, caller)
        services = self._services
        with session_scope(services.engine) as session:
            meeting = lookup.find_meeting(session, code)
            access.require_manager(session, meeting, actor)  # a member is refused, not corrected
            seats = rsvp.read_capacity(typed or "off")
            change = rsvp.set_capacity(
                session, meeting=meeting, actor=actor, capacity=seats, now=services.clock()
            )
            code = meeting.code
        return {"message": render_capacity_change(change, code)}

    async def _reminders(self, request: web.Request, caller: Caller) -> dict[str, Any]:
        """The meeting's own reminders, as /reminders CODE 1d 10m|off|default sets them."""
        body = await _body(request)
        typed = str(body.get("moments") or "").strip()
        code, actor = await self._owner(request, caller)
        services = self._services
        with session_scope(services.engine) as session:
            meeting = lookup.find_meeting(session, code)
            access.require_manager(session, meeting, actor)  # a member is refused, not corrected
            choice = reminders.read_choice(typed or reminders.Word.DEFAULT.value)
            if choice is reminders.Word.ON:
                raise InvalidInput(reminders.usage())
            minutes: list[int] | None
            if choice is reminders.Word.OFF:
                minutes = []
            elif choice is reminders.Word.DEFAULT:
                minutes = None
            else:
                minutes = list(choice)
            reminders.set_for_meeting(
                session, meeting=meeting, actor=actor, minutes=minutes, now=services.clock()
            )
            text = _meeting_reminders_text(meeting.code, minutes)
        return {"message": text, "reminders": typed_moments(minutes)}

    async def _attendance(self, request: web.Request, caller: Caller) -> dict[str, Any]:
        """Who came to the latest sitting, as /attendance CODE shows it."""
        code, actor = await self._owner(request, caller)
        services = self._services
        zone = caller.zone
        with session_scope(services.engine) as session:
            report = attendance.attendance_for(
                session, code=code, actor=actor, rules=services.rules, now=services.clock()
            )
            occurrence = report.occurrence
            groups = [
                {
                    "heading": ngettext(
                        "{count} person came:", "{count} people came:", len(report.came)
                    ).format(count=len(report.came)),
                    "names": [
                        _("{name}: {joined}–{left} ({duration})").format(
                            name=person.name,
                            joined=format_clock(person.first_joined, zone),
                            left=format_clock(person.last_left, zone),
                            duration=format_duration(person.time_in_room),
                        )
                        for person in report.came
                    ],
                }
            ]
            if report.links_known:
                groups += [
                    {
                        "heading": _("Opened their link but did not come:"),
                        "names": report.opened_only,
                    },
                    {"heading": _("Never opened their link:"), "names": report.never_opened},
                ]
            else:
                groups.append({"heading": _("Did not come:"), "names": report.never_opened})
            return {
                "when": format_span(occurrence.start, occurrence.end, zone),
                "groups": [group for group in groups if group["names"] or group is groups[0]],
            }

    # --- helpers -----------------------------------------------------------------------------

    async def _owner(self, request: web.Request, caller: Caller) -> tuple[str, Actor]:
        """The meeting's code and who acts, with their rights in its group checked now."""
        code = request.match_info["code"]
        return code, await self._telegram.actor(caller.user.id, self._find(code).chat_id)

    def _find(self, code: str) -> Meeting:
        with session_scope(self._services.engine) as session:
            meeting = lookup.find_meeting(session, code)
            session.expunge(meeting)
            return meeting

    def _draft(self, body: dict[str, Any], caller: Caller) -> scheduling.Draft:
        """The form read as /schedule reads its parts: title, "<date> <time>", duration."""
        day, clock = str(body.get("date") or "").strip(), str(body.get("time") or "").strip()
        if not day or not clock:
            raise InvalidInput(_("The date and time are missing."))
        minutes = str(body.get("duration") or "").strip()
        draft = scheduling.make_draft(
            title=str(body.get("title") or ""),
            when=f"{day[:10]} {clock[:5]}",
            duration=f"{minutes}m" if minutes.isdigit() else minutes or None,
            zone=caller.zone,
            languages=list(dict.fromkeys([current_language(), "en"])),
            now=self._services.clock(),
        )
        repeat = str(body.get("repeat") or "")
        if repeat in REPEATS:
            local_day = draft.starts_at.astimezone(ZoneInfo(caller.zone)).date()
            draft = replace(draft, rrule=REPEATS[repeat](local_day))
        # Read as /schedule reads `| max 20` and `| remind 1d,10m` (empty: left out).
        if seats := str(body.get("capacity") or "").strip():
            draft = replace(draft, capacity=rsvp.capacity_option(f"max {seats}"))
        if moments := str(body.get("reminders") or "").strip():
            draft = replace(
                draft, reminder_minutes=tuple(reminders.remind_part_moments(f"remind {moments}"))
            )
        return draft


def _group_meetings(session: Session, chat_id: int, now: datetime) -> list[Meeting]:
    """A group's meetings that are not over, soonest first."""
    found = session.exec(
        select(Meeting).where(
            Meeting.chat_id == chat_id,
            Meeting.status == MeetingStatus.SCHEDULED,
            or_(col(Meeting.ends_at) > now, col(Meeting.rrule).is_not(None)),
        )
    ).all()
    return sorted(found, key=lambda meeting: meeting.starts_at)


def typed_moments(minutes: list[int] | None) -> str:
    """Reminder moments as a person types them ("1d 2h 10m"), latest first; "" for none."""
    words = []
    for value in sorted(minutes or [], reverse=True):
        if value % (24 * 60) == 0:
            words.append(f"{value // (24 * 60)}d")
        elif value % 60 == 0:
            words.append(f"{value // 60}h")
        else:
            words.append(f"{value}m")
    return " ".join(words)


def _meeting_reminders_text(code: str, minutes: list[int] | None) -> str:
    """What /reminders CODE says of a meeting's own moments."""
    if minutes is None:
        text = _("{code} has no reminders of its own: everyone gets their default.")
    elif not minutes:
        text = _("{code} has no early reminders: only the personal links.")
    else:
        text = _("Reminders for {code}: {moments} before each start, for everyone in it.")
    return text.format(code=code, moments=reminders.describe_moments(minutes or []))


def _repeat_text(rrule: str | None, zone: str) -> str | None:
    if rrule is None:
        return None
    return timeparse.describe_recurrence(rrule, locale=current_language(), zone=zone)


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except (ValueError, UnicodeDecodeError):
        body = None
    if not isinstance(body, dict):
        raise InvalidInput(_("Something went wrong. Please try again."))
    return body


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(
        text=json.dumps(data, ensure_ascii=False),
        status=status,
        content_type="application/json",
        headers=_PRIVATE,
    )


def _static_text(name: str) -> str:
    return resources.files("bot.web").joinpath("static", name).read_text(encoding="utf-8")


def ui_texts() -> dict[str, str]:
    """The page's own labels, in the current language."""
    return {
        "meetings": _("Meetings"),
        "new": _("New meeting"),
        "settings": _("Settings"),
        "none": _("You have no upcoming meetings."),
        "join": _("Join"),
        "opens": _("Join opens {when}"),
        "manage": _("Manage"),
        "role": _("Your role: {role}"),
        "title": _("Title"),
        "date": _("Date"),
        "time": _("Time"),
        "duration": _("Duration (minutes)"),
        "repeat": _("Repeat"),
        "repeat_none": _("Does not repeat"),
        "repeat_daily": _("Every day"),
        "repeat_weekly": _("Every week"),
        "repeat_biweekly": _("Every 2 weeks"),
        "repeat_monthly": _("Every month"),
        "invite": _("Invite"),
        "nobody": _("Nobody to pick yet: people appear here once you share a meeting."),
        "schedule": _("Schedule"),
        "participants": _("Participants"),
        "owner": _("Owner"),
        "reschedule": _("Move"),
        "cancel": _("Cancel meeting"),
        "confirm_cancel": _("Cancel this meeting for everyone?"),
        "zone": _("Time zone"),
        "language": _("Language"),
        "email": _("E-mail for avatars"),
        "save": _("Save"),
        "saved": _("Saved."),
        "back": _("Back"),
        "in_zone": _("Times in {zone}"),
        "capacity": _("Seats (empty: no limit)"),
        "reminders": _("Reminders (e.g. 1d 10m)"),
        "meeting_reminders": _("Reminders for everyone (e.g. 1d 10m; empty: each person's own)"),
        "default_reminders": _("My reminders before a meeting (e.g. 1h 10m; empty: none)"),
        "sittings": _("Coming sittings"),
        "skip": _("Skip"),
        "confirm_skip": _("Skip this sitting for everyone?"),
        "sitting": _("Sitting"),
        "move_sitting": _("Move one sitting"),
        "features": _("What members may do"),
        "seats_and_reminders": _("Seats and reminders"),
        "more": _("More"),
        "history": _("History"),
        "attendance": _("Attendance"),
        "rotate": _("New room"),
        "confirm_rotate": _("Give the meeting a new room? Old links will lead to an empty room."),
        "failed": _("Something went wrong. Please try again."),
    }


def response_for_error(error: DomainError) -> tuple[dict[str, str], int]:
    """{"error": message} and the status a domain refusal maps to."""
    if isinstance(error, NotFound):
        return {"error": str(error)}, 404
    if isinstance(error, NotAllowed):
        return {"error": str(error)}, 403
    return {"error": str(error)}, 400
