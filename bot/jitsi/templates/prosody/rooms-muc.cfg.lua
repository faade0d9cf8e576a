        "muc_max_occupants";   -- the room's size from the bot's reservation
        -- Members wait in the lobby until a host is in; Jitsi's module counts anyone with a
        -- token as a host, so with the bot's links it mostly keeps out people without one.
        -- The bot's own rescue (NO_HOST_MINUTES) tells the owners when members wait alone.
        "muc_wait_for_host";
