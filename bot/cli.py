"""`iam-bot serve | serve --socket | demo | policy`."""

from __future__ import annotations

import argparse
import logging
import sys

from slack_bolt.error import BoltError

from bot.config import ConfigError, load_config, load_settings
from bot.logs import setup_logging

log = logging.getLogger("iam-bot")


def _serve(args: argparse.Namespace) -> int:
    from bot.slack.app import build_app
    from bot.slack.server import HttpServer, serve_socket_mode

    settings = load_settings(socket_mode=args.socket, port=args.port)
    config = load_config(settings.config_path)
    try:
        app = build_app(settings, config)
    except BoltError:
        raise ConfigError("SLACK_BOT_TOKEN was refused by Slack (auth.test failed)") from None
    if args.socket:
        log.info("iam-bot: Socket Mode")
        serve_socket_mode(app, settings.app_token)
    else:
        server = HttpServer(app, port=settings.port)
        log.info("iam-bot: listening on port %s", server.port)
        server.serve_forever()
    return 0


def _demo(args: argparse.Namespace) -> int:
    try:
        from bot.demo import run_demo
    except ImportError as exc:  # the production image has no moto
        raise ConfigError(
            f"the demo needs the demo extra: pip install 'iam-bot[demo]' ({exc.name})"
        ) from None
    return run_demo(script=args.script)


def _policy(_: argparse.Namespace) -> int:
    from bot.iam.policy import policy_json

    sys.stdout.write(policy_json())
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="iam-bot", description="Manage AWS IAM from Slack, safely."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the bot (HTTP, or Socket Mode with --socket)")
    serve.add_argument("--port", type=int, default=None, help="HTTP port (default $PORT or 3000)")
    serve.add_argument(
        "--socket", action="store_true", help="use Socket Mode (needs SLACK_APP_TOKEN)"
    )
    serve.set_defaults(run=_serve)
    demo = sub.add_parser("demo", help="try the bot in the terminal: embedded AWS and Slack")
    demo.add_argument("--script", help="run the commands in FILE (one per line) and exit")
    demo.set_defaults(run=_demo)
    policy = sub.add_parser("policy", help="print the IAM policy the bot needs")
    policy.set_defaults(run=_policy)
    args = parser.parse_args(argv)
    setup_logging("WARNING" if args.command == "demo" else "INFO")
    try:
        return args.run(args)
    except ConfigError as exc:
        print(f"iam-bot: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
