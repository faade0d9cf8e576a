-- Merge into the existing file; keep its other settings, modules and components
-- (auth.<domain>, internal MUC, focus, lobby...). Needs the jitsi-meet-tokens package.

${tenant_mapping}
VirtualHost ${domain}
    -- Only a valid token from the bot logs anyone in.
    authentication = "token"
    app_id = ${app_id}
${signing}
    -- Without a token nobody gets in (true would let anyone in).
    allow_empty_token = false
    -- Accept tokens from this bot (iss) meant for it (aud) only.
    asap_accepted_issuers = { ${app_id} }
    asap_accepted_audiences = { ${audience} }
${rooms_host}

Component ${conference_domain} "muc"
    -- Add these to the modules_enabled list that is already there (keep the others):
    modules_enabled = {
${tenant_module}
        "token_verification";  -- the token's room must be the room joined
        "token_affiliation";   -- owner or member, from context.user.affiliation
        -- Optional (jitsi-contrib): members wait until an owner is in, and everyone is
        -- removed party_check_timeout seconds after the last owner leaves.
        -- "token_owner_party";
${rooms_muc}
    }
    -- party_check_timeout = 60
${rooms_muc_settings}

-- Component ${breakout_domain} "muc": nothing token-related there.
-- token_verification on the breakout-rooms MUC breaks breakout rooms, token_owner_party
-- removes members from them; both belong on the conference MUC only.
-- Do not enable muc_allowners; with muc_wait_for_host also set
-- wait_for_host_disable_auto_owners = true. Both would make every member an owner.
${rooms_component}
