"""The web console (issue 16): pages for operators, served by the daemon behind a login.

    app.py        build_app(backend, settings): the Starlette application
    middleware.py session, CSRF, roles, locale, body size: every request passes here
    auth.py       sessions, the login rate limit, require_admin
    users.py      console users and their argon2 hashes, and the action journal
    backend.py    ConsoleBackend: the console's only way into the connector
    server.py     uvicorn in a daemon thread (the console, or status.http alone)
    pages/        one module per page, each with routes()
    cli.py        `connector console password`
"""
