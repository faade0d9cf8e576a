"""Who fetches a link without a person behind it: link-preview robots, crawlers, HEAD."""

from __future__ import annotations

# Substrings of the User-Agent of services that fetch a link to show a preview of it, and of
# the crawlers that follow links. They get a neutral page: a token minted for them would be a
# token handed to a third party, and the open would count as the person's.
PREVIEW_AGENTS = (
    "TelegramBot",
    "Twitterbot",
    "facebookexternalhit",
    "Facebot",
    "meta-externalagent",
    "Slackbot",
    "Slack-ImgProxy",
    "WhatsApp",
    "Discordbot",
    "LinkedInBot",
    "SkypeUriPreview",  # Skype and Microsoft Teams
    "MicrosoftPreview",  # Outlook
    "Mattermost",
    "RocketChat",
    "Iframely",
    "Embedly",
    "redditbot",
    "Pinterest",
    "vkShare",
    "Viber",
    "Snapchat",
    "Applebot",
    "Googlebot",
    "Google-PageRenderer",
    "bingbot",
    "YandexBot",
    "DuckDuckBot",
    "Baiduspider",
    "Mastodon",
    "Bluesky",
    "Zulip",
    "Synapse",  # Matrix URL previews
    "Discourse",
)
_LOWERED = tuple(agent.lower() for agent in PREVIEW_AGENTS)


def is_preview_fetch(method: str, user_agent: str) -> bool:
    """True for a HEAD request or a known preview robot or crawler: mint nothing for it."""
    if method != "GET":
        return True
    agent = user_agent.lower()
    return any(name in agent for name in _LOWERED)
