-- Tenant URLs (https://${host}/${tenant}/<room>): the token's sub is the tenant "${tenant}",
-- and Prosody maps the tenant's rooms onto the domain below. Global section (top of
-- the file, before any VirtualHost); Debian installs already have this line:
muc_mapper_domain_base = ${domain}
