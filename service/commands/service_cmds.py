"""connector service install|uninstall|start|stop|status: the systemd unit or Windows service."""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from connector.config import Config


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("service", help="install and control the connector as a system service")
    ssub = p.add_subparsers(dest="service_command", metavar="ACTION", required=True)

    inst = ssub.add_parser("install", help="write and enable the systemd unit / register the "
                                           "Windows service")
    inst.add_argument("--print", "--dry-run", dest="print_only", action="store_true",
                      help="print the unit file and change nothing")
    inst.add_argument("--unit-dir", type=Path, default=None,
                      help="write the unit here instead of /etc/systemd/system")
    inst.add_argument("--no-system", action="store_true",
                      help="only write the unit file: no user, folders or systemctl")
    inst.set_defaults(func=install)

    un = ssub.add_parser("uninstall", help="stop, disable and remove the service "
                                           "(state and logs stay)")
    un.add_argument("--unit-dir", type=Path, default=None,
                    help="remove the unit from here instead of /etc/systemd/system")
    un.add_argument("--no-system", action="store_true", help="only remove the unit file")
    un.set_defaults(func=uninstall)

    for action, text in (("start", "start the service"), ("stop", "stop the service")):
        sp = ssub.add_parser(action, help=text)
        sp.set_defaults(func=control, action=action)

    st = ssub.add_parser("status", help="is it running, which process, is it healthy")
    st.add_argument("--json", action="store_true", help="machine-readable output")
    st.set_defaults(func=status)


def _cfg(args: argparse.Namespace) -> Config:
    from service.commands import config_from

    return config_from(args)


def install(args: argparse.Namespace) -> int:
    from service import install as inst

    cfg = _cfg(args)
    if args.print_only:
        sys.stdout.write(inst.render_unit(cfg))
        return 0
    if sys.platform == "win32":
        from service import windows

        assert cfg.source_path is not None
        windows.install(cfg, cfg.source_path)
        print(f"service {cfg.service.name} registered; start it with: connector service start")
        return 0
    path = inst.install_systemd(cfg, unit_dir=args.unit_dir, system=not args.no_system)
    print(f"unit written: {path}")
    if not args.no_system:
        print(f"enabled; start it with: connector service start "
              f"(or systemctl start {cfg.service.name})")
    return 0


def uninstall(args: argparse.Namespace) -> int:
    cfg = _cfg(args)
    if sys.platform == "win32":
        from service import windows

        windows.uninstall(cfg)
        print(f"service {cfg.service.name} removed")
        return 0
    from service import install as inst

    existed = inst.uninstall_systemd(cfg, unit_dir=args.unit_dir, system=not args.no_system)
    print(f"unit {'removed' if existed else 'was not installed'}: "
          f"{inst.unit_path(cfg, args.unit_dir)}")
    return 0


def control(args: argparse.Namespace) -> int:
    cfg = _cfg(args)
    if sys.platform == "win32":
        from service import windows

        windows.start(cfg) if args.action == "start" else windows.stop(cfg)
    else:
        from service import install as inst

        inst.systemctl(args.action, cfg)
    print(f"{cfg.service.name}: {args.action} requested")
    return 0


def _healthz(address: str) -> dict[str, Any]:
    url = f"http://{address}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:  # local endpoint
            body: dict[str, Any] = json.loads(resp.read())
            return body
    except urllib.error.HTTPError as exc:
        failing: dict[str, Any] = json.loads(exc.read() or b"{}")
        return failing
    except (OSError, ValueError) as exc:
        return {"status": "unreachable", "error": str(exc)}


def status(args: argparse.Namespace) -> int:
    from connector.oslock import probe

    cfg = _cfg(args)
    facts: dict[str, Any] = {"service": cfg.service.name}
    if sys.platform == "win32":
        from service import windows

        facts["manager"] = windows.state(cfg)
    else:
        from service import install as inst

        facts["manager"] = inst.systemd_state(cfg)
    held, pid = probe(cfg.state_dir)
    facts["running"] = held
    facts["pid"] = pid
    if cfg.status.http and held:
        facts["health"] = _healthz(cfg.status.http)
    healthy = held and facts.get("health", {"status": "ok"}).get("status") == "ok"
    if args.json:
        print(json.dumps(facts, indent=2))
        return 0 if healthy else 1
    m = facts["manager"]
    if m:
        line = f"{cfg.service.name}: {m.get('ActiveState', '?')}"
        if m.get("SubState"):
            line += f" ({m['SubState']})"
        if m.get("UnitFileState"):
            line += f", {m['UnitFileState']}"
        if m.get("NRestarts") not in (None, "", "0"):
            line += f", restarted {m['NRestarts']} times"
        print(line)
        if m.get("StatusText"):
            print(f"  {m['StatusText']}")
    else:
        print(f"{cfg.service.name}: not known to the service manager")
    print(f"connector on {cfg.state_dir}: " + (f"running (pid {pid})" if held else "not running"))
    if "health" in facts:
        h = facts["health"]
        print(f"health ({cfg.status.http}): {h.get('status')}")
        for name, why in (h.get("bad") or {}).items():
            print(f"  {name}: {why}")
    return 0 if healthy else 1
