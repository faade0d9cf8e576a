"""The meeting domain: plain values and a session in, plain results out; no Telegram."""
