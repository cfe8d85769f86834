"""What ships: the wheel holds the bot alone, and the bot never imports the test peers or moto."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from tests.fixtures.project import ROOT


def test_the_wheel_holds_no_test_peers_and_no_demo(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "--no-build-isolation",
         "--quiet", "--wheel-dir", str(tmp_path)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    (wheel,) = tmp_path.glob("iam_bot-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "bot/slack/app.py" in names  # the listing does see the package
    tops = {n.split("/")[0] for n in names if not n.startswith("iam_bot-")}
    assert tops == {"bot"}, tops
    assert not [n for n in names if "sandbox" in n or "demo" in n or "moto" in n]


def test_importing_the_bot_imports_no_moto_and_no_sandbox() -> None:
    probe = (
        "import sys, bot.cli, bot.slack.app, bot.slack.wsgi, bot.iam.bot_policy\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('moto', 'sandbox')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd="/"
    ).stdout
    assert out.strip() == "[]"
