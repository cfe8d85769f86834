"""The sandbox AWS, and the bot, each in a process of its own.

moto, the faithful layer and the bot all do CPU work per call; in one process they take turns
on one interpreter lock, so a benchmark would mostly measure that contention. Real AWS does its
work elsewhere: so does this. Run as ``python -m sandbox.process``; controlled over stdin.

:class:`BotProcess` is ``iam-bot serve`` exactly as production starts it, for a fleet of
replicas on one state store (tests and benchmarks): it can be stopped (SIGTERM, waited for or
not), or killed with SIGKILL as a crash would stop it.

:meth:`SandboxProcess.run` carries out any seeding or knob of :class:`FaithfulAws` in the child
(accounts, roles, backdated keys reach into moto's own model there), as a module-level
function of the caller's given the sandbox first, with arguments and result as JSON.
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sandbox.aws import FaithfulAws


def serve() -> None:
    """Print the endpoint, then answer ``delay S``, ``calls``, ``moto`` (moto's own URL,
    behind no delay) and ``run {json}`` (see :meth:`SandboxProcess.run`) lines until stdin
    closes."""
    with FaithfulAws() as sandbox:
        print(sandbox.endpoint_url, flush=True)
        for line in sys.stdin:
            command, _, arg = line.strip().partition(" ")
            if command == "delay":
                sandbox.set_delay(float(arg))
                print("ok", flush=True)
            elif command == "calls":
                print(len(sandbox.calls()), flush=True)
            elif command == "moto":
                print(sandbox.moto_url, flush=True)
            elif command == "run":
                print(json.dumps(_run(sandbox, json.loads(arg))), flush=True)


def _run(sandbox: FaithfulAws, asked: dict[str, Any]) -> dict[str, Any]:
    """``asked["fn"]`` (``module:name``) called with the sandbox and ``asked["args"]``: its
    result, or the error it raised (one line: the caller raises it again)."""
    module, _, name = asked["fn"].partition(":")
    try:
        fn = getattr(importlib.import_module(module), name)
        return {"result": fn(sandbox, *asked["args"])}
    except Exception as exc:  # the caller's error, not the sandbox's: it goes on serving
        return {"error": f"{type(exc).__name__}: {exc}"}


class SandboxProcess:
    def __init__(self) -> None:
        self._child = subprocess.Popen(
            [sys.executable, "-m", "sandbox.process"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.endpoint_url = self._child.stdout.readline().strip()

    def _ask(self, command: str) -> str:
        self._child.stdin.write(command + "\n")
        self._child.stdin.flush()
        return self._child.stdout.readline().strip()

    def set_delay(self, seconds: float) -> None:
        self._ask(f"delay {seconds}")

    def call_count(self) -> int:
        return int(self._ask("calls"))

    def moto_url(self) -> str:
        """moto itself, without the faithful layer or its delay (e.g. for the state table)."""
        return self._ask("moto")

    def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        """``fn(sandbox, *args)`` in the child, on its :class:`FaithfulAws`: ``fn`` is a
        module-level function (the child imports it by name, that of ``python -m`` included),
        ``args`` and its result JSON."""
        module = fn.__module__
        if module == "__main__":
            spec = sys.modules["__main__"].__spec__
            if spec is None:  # a script run by path: the child could not import it by name
                raise RuntimeError("run the script as a module (python -m bench.name)")
            module = spec.name
        asked = {"fn": f"{module}:{fn.__qualname__}", "args": list(args)}
        answer = json.loads(self._ask("run " + json.dumps(asked)))
        if "error" in answer:
            raise RuntimeError(f"in the sandbox process, {asked['fn']}: {answer['error']}")
        return answer["result"]

    def __enter__(self) -> SandboxProcess:
        return self

    def __exit__(self, *_: object) -> None:
        self._child.stdin.close()
        self._child.wait(10)


def free_port() -> int:
    """A loopback port nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class BotProcess:
    """``iam-bot serve`` on a free loopback port with ``env`` added to this process's own
    (where boto3 already points at the sandbox); its log goes to ``log_path``. Returns once it
    answers its health check."""

    def __init__(self, env: dict[str, str], log_path: Path, *, timeout_s: float = 30.0) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        with log_path.open("ab") as log:
            self._child = subprocess.Popen(
                [sys.executable, "-m", "bot", "serve", "--port", str(self.port)],
                env={**os.environ, **env},
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self._wait_healthy(timeout_s)

    def _wait_healthy(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._child.poll() is not None:
                break
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=1) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        self.kill()
        raise RuntimeError(f"iam-bot serve did not come up; its log: {self.log_path}")

    def get(self, path: str) -> str:
        """GET ``path`` of this replica itself (``/metrics``, ``/readyz``), as text."""
        with urllib.request.urlopen(f"{self.url}{path}", timeout=10) as answer:
            return answer.read().decode()

    def alive(self) -> bool:
        return self._child.poll() is None

    def stop(self) -> None:
        """SIGTERM, as an orchestrator stops a replica, and wait for it to end."""
        self._end(signal.SIGTERM)

    def terminate(self) -> None:
        """SIGTERM, without waiting: the process drains its work, then exits."""
        if self.alive():
            self._child.send_signal(signal.SIGTERM)

    def exit_code(self, timeout_s: float = 30.0) -> int:
        """Wait for the process to end; its exit code (negative: the signal that ended it)."""
        return self._child.wait(timeout_s)

    def kill(self) -> None:
        """SIGKILL: nothing of the process runs after it (a crash, an OOM kill)."""
        self._end(signal.SIGKILL)

    def _end(self, how: signal.Signals) -> None:
        if self.alive():
            self._child.send_signal(how)
        self._child.wait(10)


if __name__ == "__main__":
    serve()
