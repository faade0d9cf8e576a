        "muc_domain_mapper";  -- tenant URLs
