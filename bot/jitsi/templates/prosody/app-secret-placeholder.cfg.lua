    app_secret = ${placeholder}  -- JITSI_APP_SECRET; --reveal-secret prints it
