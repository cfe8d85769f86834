"""The sandbox AWS in a process of its own, for benchmarks.

moto, the faithful layer and the bot all do CPU work per call; in one process they take turns
on one interpreter lock, so a benchmark would mostly measure that contention. Real AWS does its
work elsewhere: so does this. Run as ``python -m sandbox.process``; controlled over stdin.
"""

from __future__ import annotations

import subprocess
import sys

from sandbox.aws import FaithfulAws


def serve() -> None:
    """Print the endpoint, then answer ``delay S`` and ``calls`` lines until stdin closes."""
    with FaithfulAws() as sandbox:
        print(sandbox.endpoint_url, flush=True)
        for line in sys.stdin:
            command, _, arg = line.strip().partition(" ")
            if command == "delay":
                sandbox.set_delay(float(arg))
                print("ok", flush=True)
            elif command == "calls":
                print(len(sandbox.calls()), flush=True)


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

    def __enter__(self) -> SandboxProcess:
        return self

    def __exit__(self, *_: object) -> None:
        self._child.stdin.close()
        self._child.wait(10)


if __name__ == "__main__":
    serve()
