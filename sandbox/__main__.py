"""`python -m sandbox [--host 127.0.0.1] [--port 8100]`: run the Genesys sandbox until interrupted.

Prints one line once it is listening (with the real port, so `--port 0` works for tests).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys

from werkzeug.serving import make_server

from . import defaults
from .app import SandboxApp
from .config import Config


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox", description="The embedded Genesys Cloud sandbox.")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument(
        "--port",
        type=int,
        default=int(os.environ.get("SANDBOX_PORT") or defaults.PORT),
        help="port to bind, 0 for any free port (default $SANDBOX_PORT or 8100)",
    )
    parser.add_argument("--quiet", action="store_true", help="no access log")
    args = parser.parse_args(argv)

    # Werkzeug's access log goes to stderr; keep it unless asked (it is what a developer watches in `make run`).
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO, format="%(message)s")
    logging.getLogger("werkzeug").setLevel(logging.WARNING if args.quiet else logging.INFO)

    app = SandboxApp(Config.from_env())
    server = make_server(args.host, args.port, app, threaded=True)
    port = server.socket.getsockname()[1]
    print(f"Genesys sandbox listening on http://{args.host}:{port}", flush=True)
    print(deployments_line(app.state.config), flush=True)

    # honcho and the test fixture stop us with SIGTERM: leave serve_forever cleanly.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


def deployments_line(config: Config) -> str:
    """Which way visitors and members are served, as this sandbox's deployments are configured."""
    member = config.deployment(config.deployment_id)
    assert member is not None
    upgrade = "on" if member.allow_session_upgrade else "off"
    auth = "on" if member.auth_enabled else "off"
    return (
        f"Messenger deployments: members {config.deployment_id} (authentication {auth}, session upgrade {upgrade}); "
        f"visitors without authentication {config.guest_deployment_id} (GENESYS_GUEST_DEPLOYMENT_ID)"
    )


if __name__ == "__main__":
    raise SystemExit(main())
