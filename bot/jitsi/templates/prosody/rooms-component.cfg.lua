
-- Who joins and leaves, for the owners' attendance reports (jitsi-contrib's event_sync:
-- wget -O /usr/share/jitsi-meet/prosody-plugins/mod_event_sync_component.lua
--   https://raw.githubusercontent.com/jitsi-contrib/prosody-plugins/main/event_sync/mod_event_sync_component.lua
-- ); prosody needs no DNS entry for it.
Component ${event_domain} "event_sync_component"
    muc_component = ${conference_domain}
    breakout_component = ${breakout_domain}
    api_prefix = ${events_prefix}
    api_headers = { ["Authorization"] = ${bearer}; }
    api_timeout = 10
