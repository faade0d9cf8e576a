    app_secret = ${secret}
