"""The web console (issue 16): pages for operators, served by the daemon behind a login.

    app.py        build_app(backend, settings): the Starlette application
    middleware.py session, CSRF, roles, locale, body size: every request passes here
    auth.py       sessions, the login rate limit, require_admin
    users.py      console users and their argon2 hashes, and the action journal
    backend.py    ConsoleBackend: the console's only way into the connector
    server.py     uvicorn in a daemon thread (the console, or status.http alone)
    pages/        one module per page, each with routes()
    cli.py        `connector console password`

Writing a page (a module in pages/, listed in app.PAGE_MODULES):

- `routes()` returns Starlette routes; handlers are async and call the connector only
  through the backend: `await call(request, backend(request).method, ...)` (pages/__init__).
- `render(request, "x.html", **ctx)`; templates extend base.html (`{% block content %}`)
  and mark texts `{{ _("...") }}` (Italian in connector/locale/it/LC_MESSAGES/connector.po).
- Every POST form has `<input type="hidden" name="csrf_token" value="{{ csrf }}">`
  (multipart forms too); scripts send the X-CSRF-Token header instead. The middleware
  checks it, refuses a viewer's POST (add a path to middleware.VIEWER_POSTS only for what
  concerns the user alone) and bodies over console.max_upload_mb (413), before the page.
- An action calls `auth.require_admin(request)` and records itself with
  `await act(request, "name", "detail")`; render.ACTIONS gives its name in words.
"""
