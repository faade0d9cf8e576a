"""Readers of a Jitsi server's config files, one module per format."""
