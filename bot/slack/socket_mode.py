"""Serving the Bolt app in Socket Mode: Slack pushes over a websocket the bot opens."""

from __future__ import annotations

from typing import Self

from bot.slack.bot_app import BotApp
from bot.slack.readiness import Probe
from bot.slack.wsgi import WsgiServer, operations_app


class SocketModeServer:
    """Socket Mode: Slack pushes over a websocket the bot opens, for installs behind a firewall.
    The operators' endpoints run on ``health_port``; ready includes the socket being connected
    (slack_sdk's client says whether it is)."""

    def __init__(self, app: BotApp, app_token: str, health_port: int) -> None:
        from slack_bolt.adapter.socket_mode import SocketModeHandler

        self._handler = SocketModeHandler(app, app_token)
        app.readiness.add(Probe("socket", self._connected, ttl=0))
        self._health = WsgiServer(operations_app(app), "0.0.0.0", health_port, threads=4)

    def _connected(self) -> None:
        if not self._handler.client.is_connected():
            raise ConnectionError("the Socket Mode websocket is not connected")

    def start(self) -> Self:
        self._health.start()
        self._handler.connect()
        return self

    def stop_listening(self) -> None:
        """Close the socket: Slack sends nothing more here (the health port still answers)."""
        self._handler.close()

    def stop(self) -> None:
        self._health.stop()
