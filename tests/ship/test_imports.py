"""Every module of the package imports on its own, first thing in a fresh interpreter: a cycle
between modules shows only when the first import is the wrong one (a benchmark or a Lambda
handler importing `bot.slack.scope` before the subcommands did)."""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

from tests.fixtures.project import ROOT


def _modules() -> list[str]:
    package = ROOT / "bot"
    return sorted(
        ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        for path in package.rglob("*.py")
        if path.name != "__main__.py"  # `python -m bot`: importing it runs the CLI
    )


def _import_alone(module: str) -> str | None:
    done = subprocess.run(
        [sys.executable, "-c", f"import {module}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return None if done.returncode == 0 else f"{module}: {done.stderr.strip().splitlines()[-1]}"


def test_every_module_imports_first() -> None:
    modules = _modules()
    assert "bot.slack.scope" in modules and "bot.lambda_handler" in modules
    with ThreadPoolExecutor(8) as pool:
        failures = [f for f in pool.map(_import_alone, modules) if f]
    assert not failures, failures
