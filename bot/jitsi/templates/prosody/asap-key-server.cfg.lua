    -- RS256: Prosody fetches <asap_key_server>/<sha256 hex of the key id>.pem. For
    -- JITSI_KEY_ID ${key_id} publish the public key as ${digest}.pem:
    --   openssl rsa -in ${key_file} -pubout -out ${digest}.pem
    asap_key_server = "https://<where you publish the public key>/"
    signature_algorithm = ${algorithm}
