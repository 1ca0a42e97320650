"""connector notify --test: a test notice through every configured channel, now.

Prints per channel OK or the reason in plain words; exit 0 when every channel delivered,
1 when one failed, 2 when no channel is configured. Recorded as an action.
"""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("notify", help="send a test notification through every channel")
    p.add_argument("--test", action="store_true", required=True,
                   help="send a test notice by mail and webhook, as configured under "
                        "notifications, and say whether each arrived")
    p.add_argument("--timeout", type=float, default=10.0, metavar="SECONDS",
                   help="how long to wait for each server (default 10)")
    p.set_defaults(func=notify_test)


def notify_test(args: argparse.Namespace) -> int:
    from connector.controls import record_action
    from connector.i18n import _
    from service.commands import setup, who
    from service.notify import send_test

    cfg, store = setup(args)
    results = send_test(cfg.notifications, cfg.company, timeout=args.timeout)
    if not results:
        print(_("no notification channel is configured (notifications.smtp with info_to or "
                "error_to, notifications.webhook): nothing was sent"))
        return 2
    for r in results:
        verdict = _("OK") if r.ok else _("FAILED: {reason}").format(reason=r.reason)
        print(f"{r.channel:<8} {r.target}  {verdict}")
    record_action(store, "notify.test", who=who(),
                  target=", ".join(r.channel for r in results),
                  detail="; ".join(f"{r.channel}: {'ok' if r.ok else r.reason}" for r in results))
    return 0 if all(r.ok for r in results) else 1
