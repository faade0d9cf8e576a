    -- The bot decides which rooms may open and closes them at the window's end
    -- (mod_reservations), and each presence carries the identity from the token, whatever a
    -- client claims (presence_identity). Add both to the modules_enabled list that is
    -- already there (keep the others):
    modules_enabled = { "reservations"; "presence_identity"; }
    main_muc = ${conference_domain}
    reservations_api_prefix = ${reservations_prefix}
    reservations_api_headers = { ["Authorization"] = ${bearer}; }
    reservations_api_timeout = 10
    reservations_api_retry_count = 3
    reservations_api_retry_delay = 1
    -- The room's size (participants + ROOM_EXTRA_SEATS) and the meeting's /lobby setting;
    -- they need "muc_max_occupants" on the conference MUC, and muc_lobby_rooms with
    -- persistent_lobby (a default install has both).
    reservations_enable_max_occupants = true
    reservations_enable_lobby_support = true
