-- POST /login/: argon2id verification on the worker pool (at most two hashes at once).
wrk.method = "POST"
wrk.path = "/login/"
wrk.headers["Content-Type"] = "application/json"
wrk.body = string.format('{"email":"%s","password":"%s"}', os.getenv("BENCH_EMAIL"), os.getenv("BENCH_PASSWORD"))
