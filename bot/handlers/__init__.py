"""The Telegram side: read the update, call the domain, render the reply."""
