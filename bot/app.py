"""build_application: wiring only. Reads top to bottom like a table of contents."""

from __future__ import annotations

import asyncio
import html
import logging
import re
import signal
import threading
import warnings
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine
from telegram import BotCommand, Update
from telegram.error import Conflict
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    ContextTypes,
    ConversationHandler,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.warnings import PTBUserWarning

from bot import buttons
from bot.clock import system_clock
from bot.config import SUPPORTED_LANGUAGES, Settings, token_signer
from bot.delivery.sending import OUTBOX_TABLES, DeliveryService
from bot.domain import drafts
from bot.domain.values import Rules
from bot.handlers import (
    attendance,
    miniapp,
    participation,
    people,
    polls,
    ratelimit,
    reminders,
    roles,
    rsvp,
    scheduling,
    series,
)
from bot.handlers.common import BotContext, guarded, in_reader_language, is_private, reply
from bot.handlers.messenger import TelegramMessenger
from bot.handlers.ratelimit import PacedRateLimiter
from bot.i18n import _, use_language
from bot.services import Services
from bot.web import Webhook, WebServer
from bot.web.miniapp import MiniApp
from storage import heartbeat
from storage.db import call_after_commit, make_engine, session_scope, upgrade_database

log = logging.getLogger(__name__)

SWEEP_JOB = "delivery-sweep"
WAKE_JOB = "delivery-wake"
DRAFT_PURGE_JOB = "draft-purge"
DRAFT_PURGE_INTERVAL = 3600.0  # seconds; drafts live a day, an hour late to go is harmless
COMMAND_SHOWN = 40  # characters of an unknown command repeated back


def rules_from(settings: Settings) -> Rules:
    """The domain's view of the settings."""
    return Rules(
        remind_before=timedelta(minutes=settings.remind_before_minutes),
        join_early=timedelta(minutes=settings.join_early_minutes),
        token_grace=timedelta(minutes=settings.token_grace_minutes),
        default_zone=settings.default_timezone,
        admin_ids=settings.admin_ids,
        public_url=settings.public_url,
        link_key=settings.link_handle_key() if settings.public_url else b"",
        bind_links=settings.binds_links,
    )


def command_menu(*, with_app: bool = False) -> list[BotCommand]:
    """The command menu, in the current language (/app only where the bot serves the app)."""
    app = [BotCommand("app", _("Meetings and settings in the app"))] if with_app else []
    return [
        BotCommand("schedule", _("Plan a meeting")),
        BotCommand("invite", _("Invite people to a meeting")),
        BotCommand("meetings", _("My upcoming meetings")),
        *app,
        BotCommand("link", _("My personal link")),
        BotCommand("reschedule", _("Move a meeting")),
        BotCommand("cancel", _("Cancel a meeting")),
        BotCommand("participants", _("Who is in a meeting")),
        BotCommand("poll", _("Find a time with a group")),
        BotCommand("capacity", _("Seats and waitlist of a meeting")),
        BotCommand("attendance", _("Who came to a meeting")),
        BotCommand("skip", _("Skip one sitting of a series")),
        BotCommand("move", _("Move one sitting of a series")),
        BotCommand("reminders", _("When reminders come")),
        BotCommand("timezone", _("My time zone")),
        BotCommand("language", _("My language")),
        BotCommand("email", _("My e-mail for avatars")),
        BotCommand("help", _("How this bot works")),
    ]


def rate_limiter(scale: float) -> PacedRateLimiter:
    """Pace sends for Telegram's limits read as strict sliding windows, replies before bulk.

    `scale` shortens every window, for a sandbox whose limits are scaled up the same way.
    """
    return PacedRateLimiter(scale=scale)


def build_application(
    settings: Settings,
    *,
    clock: Callable[[], datetime] = system_clock,
    engine: Engine | None = None,
    sweep_interval: float = 60.0,
    rate_limit_scale: float = 1.0,
    application_class: type[Application[Any, Any, Any, Any, Any, Any]] = Application,
    webhook: Webhook | None = None,
) -> Application[Any, Any, Any, Any, Any, Any]:
    """The bot, ready for run_polling / run_webhook (or initialize/start in tests).

    With `webhook` (needs PUBLIC_URL), the bot's own web server takes Telegram's updates: run
    it with run_with_own_webhook.
    """
    if webhook is not None and settings.public_url is None:
        raise ValueError("a webhook on the bot's own web server needs PUBLIC_URL")
    engine = engine or make_engine(settings.database_url)
    upgrade_database(engine)
    services = Services(
        settings=settings,
        engine=engine,
        rules=rules_from(settings),
        signer=token_signer(settings),
        clock=clock,
    )
    application = (
        ApplicationBuilder()
        # The test harness passes a subclass that counts what the bot has in hand.
        .application_class(application_class)
        .token(settings.require_bot_token())
        .base_url(settings.telegram_api_base_url)
        .context_types(ContextTypes(context=BotContext))
        .rate_limiter(rate_limiter(rate_limit_scale))
        .post_init(_on_start)
        .post_shutdown(_on_stop)
        .build()
    )
    application.bot_data["services"] = services
    application.bot_data["sweep_interval"] = sweep_interval
    # Poll messages space their edits by this too (bot.handlers.polls).
    application.bot_data["rate_limit_scale"] = rate_limit_scale
    application.bot_data["webhook"] = webhook
    # The pace the delivery sweep plans fan-outs at: what the rate limiter sustains.
    paid = settings.allow_paid_broadcast
    per_second = ratelimit.PAID_PER_SECOND if paid else ratelimit.GLOBAL_PER_SECOND
    application.bot_data["send_rate"] = 0.95 * per_second * rate_limit_scale
    _register_handlers(application)
    return application


def _register_handlers(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    # Order matters: the /schedule dialog first (it takes only its own answers, buttons and a
    # bare /cancel, and lets everything else through), then commands, then the buttons by
    # prefix, then free text outside the dialog, which must never swallow a command.
    # New messages only: an edited "/cancel CODE" must not run a second time.
    fresh = filters.UpdateType.MESSAGE
    application.add_handler(_schedule_dialog(fresh))
    commands = {
        "start": people.start,
        "help": people.help_command,
        "timezone": people.timezone,
        "language": people.language,
        "email": people.email,
        "schedule": scheduling.schedule,
        "reschedule": scheduling.reschedule,
        "invite": participation.invite,
        "meetings": participation.list_meetings,
        "link": participation.link,
        "cancel": participation.cancel,
        "role": roles.role,
        "promote": roles.promote,
        "demote": roles.demote,
        "participants": roles.participants,
        "capacity": rsvp.capacity,
        "features": roles.features,
        "history": roles.history,
        "rotate": roles.rotate,
        "admin": roles.admin,
        "skip": series.skip,
        "move": series.move,
        "reminders": reminders.reminders_command,
        "attendance": attendance.attendance_command,
        "lobby": attendance.lobby,
        "poll": polls.poll,
        "app": miniapp.app_command,
    }
    for name, callback in commands.items():
        application.add_handler(CommandHandler(name, callback, filters=fresh))
    # Besides /start's own answer: the private chat's menu button opens the Mini App.
    application.add_handler(
        CommandHandler("start", miniapp.set_menu_button, filters=fresh), group=1
    )
    application.add_handler(MessageHandler(fresh & filters.COMMAND, _unknown_command))
    # Each kind of button by its prefix (bot.buttons); a malformed press of a known kind gets
    # that kind's own refusal, anything else the catch-all below.
    # (Change under a preview opens the dialog, so the dialog has it.)
    on_press: dict[type[buttons.ButtonData], Callable[..., Any]] = {
        buttons.ConfirmPreview: scheduling.confirm_preview,
        buttons.DropPreview: scheduling.drop_preview,
        # The dialog's buttons when no dialog is open: it ended, timed out or the bot restarted.
        buttons.Duration: scheduling.question_closed,
        buttons.LeaveDialog: scheduling.question_closed,
        buttons.Join: participation.join_button,
        buttons.Decline: participation.decline_button,
        buttons.InvitePick: participation.invite_pick,
        buttons.MeetingButton: participation.meeting_button,
        buttons.Page: participation.page_button,
        buttons.CalendarFile: series.ics_button,
        buttons.ConfirmSittingChange: series.confirm_sitting_change,
        buttons.DropSittingChange: series.drop_sitting_change,
        buttons.PollVote: polls.vote_button,
        buttons.PollZone: polls.zone_button,
        buttons.PollSchedule: polls.schedule_button,
        buttons.PollPick: polls.pick_button,
        buttons.Rsvp: rsvp.rsvp_button,
    }
    for kind, callback in on_press.items():
        application.add_handler(CallbackQueryHandler(callback, pattern=kind.claims))
    application.add_handler(CallbackQueryHandler(_unknown_button))
    application.add_handler(
        MessageHandler(fresh & filters.TEXT & ~filters.COMMAND, scheduling.stray_text)
    )
    # These two answer nobody, but whatever they write one day must be in the reader's language.
    application.add_handler(
        MessageHandler(filters.StatusUpdate.MIGRATE, in_reader_language(people.group_migrated))
    )
    application.add_handler(
        ChatMemberHandler(
            in_reader_language(people.membership_changed), ChatMemberHandler.MY_CHAT_MEMBER
        )
    )
    application.add_error_handler(_on_error)


def _schedule_dialog(fresh: filters.BaseFilter) -> ConversationHandler[BotContext]:
    """The bare /schedule dialog: title, time, duration; one per person and chat, so that two
    people in a group never answer each other's; it times out when nobody answers."""
    answer = fresh & filters.TEXT & ~filters.COMMAND
    bare = fresh & scheduling.BARE_COMMAND
    with warnings.catch_warnings():
        # per_message=False is meant: the dialog's buttons follow the person and chat, not one
        # message (PTB warns that CallbackQueryHandlers are then not tracked per message).
        warnings.filterwarnings(
            "ignore", message=re.escape("If 'per_message=False'"), category=PTBUserWarning
        )
        return ConversationHandler(
            entry_points=[
                CommandHandler("schedule", scheduling.start_dialog, filters=bare),
                CallbackQueryHandler(
                    scheduling.change_preview, pattern=buttons.ChangePreview.claims
                ),
            ],
            states={
                scheduling.TITLE: [MessageHandler(answer, scheduling.answer_title)],
                scheduling.WHEN: [MessageHandler(answer, scheduling.answer_when)],
                scheduling.DURATION: [
                    MessageHandler(answer, scheduling.answer_duration),
                    CallbackQueryHandler(
                        scheduling.duration_button, pattern=buttons.Duration.claims
                    ),
                ],
                ConversationHandler.TIMEOUT: [TypeHandler(Update, scheduling.dialog_timed_out)],
            },
            fallbacks=[
                # "/cancel CODE" cancels a meeting and leaves the dialog open.
                CommandHandler("cancel", scheduling.cancel_dialog, filters=bare),
                CallbackQueryHandler(scheduling.leave_dialog, pattern=buttons.LeaveDialog.claims),
            ],
            # A bare /schedule (or Change) in a dialog starts it over.
            allow_reentry=True,
            per_chat=True,
            per_user=True,
            per_message=False,
            conversation_timeout=scheduling.DIALOG_TIMEOUT,
            name="schedule-dialog",
        )


@guarded
async def _unknown_button(update: Update, context: BotContext) -> None:
    """Forged or outdated callback data: answer politely, change nothing."""
    if update.callback_query is not None:
        await update.callback_query.answer(_("This button is no longer valid."))


@guarded
async def _unknown_command(update: Update, context: BotContext) -> None:
    """A command the bot does not have: say so and show /help (in groups only if addressed)."""
    message = update.effective_message
    if message is None or not message.entities:
        return
    # filters.COMMAND: the text starts with a bot_command entity, "/name" or "/name@bot".
    command, _at, addressee = message.parse_entity(message.entities[0]).partition("@")
    for_us = addressee.lower() == (context.bot.username or "").lower()
    if not (for_us or (not addressee and is_private(update))):
        return  # another bot's command, or a bare one in a group that may be meant for one
    text = _("I don't know the command {command}.").format(
        command=html.escape(command[:COMMAND_SHOWN])
    )
    await reply(update, text + "\n\n" + people.help_text())


@in_reader_language
async def _on_error(update: object, context: BotContext) -> None:
    if isinstance(context.error, Conflict):
        # Two processes polling with one token (a rolling deploy, or one started by mistake):
        # Telegram ends the older request, and python-telegram-bot polls again after a pause.
        log.warning(
            "another process is polling Telegram with this bot's token; polling again shortly"
            " (Telegram: %s)",
            context.error.message,
        )
        return
    # The exception text never holds a token link: links are only built inside delivery.
    log.error("update failed: %s", type(context.error).__name__, exc_info=context.error)


async def _on_start(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Menus, crash recovery, and the first delivery sweep."""
    services: Services = application.bot_data["services"]
    for language in SUPPORTED_LANGUAGES:
        with use_language(language):
            await application.bot.set_my_commands(
                command_menu(with_app=services.settings.public_url is not None),
                language_code=None if language == "en" else language,
            )
    services.delivery = DeliveryService(
        engine=services.engine,
        signer=services.signer,
        rules=services.rules,
        messenger=TelegramMessenger(application.bot),
        clock=services.clock,
        default_language=services.settings.default_language,
        paid_broadcast=services.settings.allow_paid_broadcast,
        send_rate=application.bot_data["send_rate"],
    )
    heartbeat.record_start(services.engine, services.clock())
    others = heartbeat.others_running(services.engine, services.clock())
    if others:
        # A rolling deploy: what is `sending` may be in that process's hands right now. A link
        # it abandons is taken up again once stale (delivery's STALE_SENDING).
        log.warning(
            "another bot process runs on this database: %s; what it is sending is left to it",
            ", ".join(str(process) for process in others),
        )
    elif recovered := services.delivery.recover_after_restart():
        log.info("%d links were being sent when the bot stopped; sending them again", recovered)
    job_queue = application.job_queue
    assert job_queue is not None
    interval = float(application.bot_data["sweep_interval"])
    # A job due at "0" when added before the scheduler runs would wait a whole interval:
    # the start-up sweep is a one-off that runs as soon as the scheduler starts.
    job_queue.run_once(_sweep, when=0, name=WAKE_JOB)
    job_queue.run_repeating(_sweep, interval=interval, first=interval, name=SWEEP_JOB)
    job_queue.run_repeating(
        _purge_drafts,
        interval=DRAFT_PURGE_INTERVAL,
        first=DRAFT_PURGE_INTERVAL,
        name=DRAFT_PURGE_JOB,
    )

    loop = asyncio.get_running_loop()
    loop_thread = threading.get_ident()

    def sweep_now() -> None:
        job_queue.run_once(_sweep, when=0, name=WAKE_JOB)

    def wake() -> None:
        # Commits happen on the event loop and, for slow work, in worker threads.
        if threading.get_ident() == loop_thread:
            sweep_now()
        else:
            loop.call_soon_threadsafe(sweep_now)

    # Any commit that owes someone a message rings the sender; no handler has to remember.
    application.bot_data["stop_waking"] = call_after_commit(services.engine, OUTBOX_TABLES, wake)

    # Likewise a vote (or a poll closed or scheduled) rings the poll messages' editor, which
    # batches; the first round catches up with what changed while the bot was down.
    def refresh_polls() -> None:
        polls.plan_refresh(application, 0)

    def ring_polls() -> None:
        if threading.get_ident() == loop_thread:
            refresh_polls()
        else:
            loop.call_soon_threadsafe(refresh_polls)

    application.bot_data["stop_poll_bell"] = call_after_commit(
        services.engine, polls.POLL_TABLES, ring_polls
    )
    refresh_polls()
    job_queue.run_repeating(
        polls.close_due_polls,
        interval=interval,
        first=interval,
        name=polls.CLOSE_JOB,
    )
    # Likewise an RSVP rings the editor of the groups' meeting messages, which batches edits.
    application.bot_data["stop_announcing"] = rsvp.watch_announcements(application)
    await _start_web(application)


async def _start_web(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """With PUBLIC_URL: the web server for click-time links (and the webhook, when on)."""
    services: Services = application.bot_data["services"]
    if services.settings.public_url is None:
        return
    webhook: Webhook | None = application.bot_data.get("webhook")

    async def feed_update(data: dict[str, Any]) -> None:
        await application.update_queue.put(Update.de_json(data, application.bot))

    server = WebServer(
        services,
        webhook=webhook,
        feed_update=feed_update,
        mini_app=MiniApp(services, miniapp.TelegramSide(application)),
    )
    await server.start()
    application.bot_data["web_server"] = server
    if webhook is not None:
        await application.bot.set_webhook(
            webhook.url, secret_token=webhook.secret_token, allowed_updates=Update.ALL_TYPES
        )


async def _sweep(context: BotContext) -> None:
    """Send what is due; if something falls due before the next sweep, come back for it."""
    services = context.services
    if services.delivery is None:
        return
    # A sweep woken by a handler inherits that reader's language with its context; each
    # message picks its own reader's, and anything else is in the bot's default.
    with use_language(services.settings.default_language):
        report = await services.delivery.sweep()
    interval = float(context.application.bot_data["sweep_interval"])
    if report.next_due is not None and context.job_queue is not None:
        wait = (report.next_due - services.clock()).total_seconds()
        if 0 < wait < interval:
            # PTB types job callbacks by the default context; ours is a subclass of it.
            context.job_queue.run_once(_sweep, when=wait, name=WAKE_JOB)  # type: ignore[arg-type]


async def _purge_drafts(context: BotContext) -> None:
    """Drop the previews and questions nobody answered within a day."""
    services = context.services
    with session_scope(services.engine) as session:
        purged = drafts.purge_expired(session, now=services.clock())
    if purged:
        log.info("purged %d expired previews and questions", purged)


async def _on_stop(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Close the database (what was not sent yet waits in it for the next start)."""
    services: Services = application.bot_data["services"]
    server = application.bot_data.pop("web_server", None)
    if server is not None:
        await server.stop()
    stop_waking = application.bot_data.pop("stop_waking", None)
    if stop_waking is not None:
        stop_waking()
    stop_poll_bell = application.bot_data.pop("stop_poll_bell", None)
    if stop_poll_bell is not None:
        stop_poll_bell()
    stop_announcing = application.bot_data.pop("stop_announcing", None)
    if stop_announcing is not None:
        stop_announcing()
    services.engine.dispose()


def run_with_own_webhook(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Run until SIGINT or SIGTERM, Telegram's updates arriving at the bot's own web server
    (python-telegram-bot's run_webhook would start a second server of its own)."""
    asyncio.run(_serve(application))


async def _serve(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for stop_signal in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(stop_signal, stop.set)
    # The order run_webhook uses: initialize, post_init, start; then the reverse.
    await application.initialize()
    try:
        assert application.post_init is not None
        await application.post_init(application)
        await application.start()
        await stop.wait()
    finally:
        if application.running:
            await application.stop()
        await application.shutdown()
        if application.post_shutdown is not None:
            await application.post_shutdown(application)
