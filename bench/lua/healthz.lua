-- GET /healthz: the HTTP layer's ceiling (no authentication, no database, no worker hop).
wrk.method = "GET"
wrk.path = "/healthz"
