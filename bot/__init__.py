"""A Telegram bot that schedules Jitsi Meet meetings and sends personal token links."""
