"""The Dockerfile passes hadolint and keeps the promises a reviewer looks for (no Docker here)."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from tests.fixtures.project import ROOT, dev_tool

DOCKERFILE = ROOT / "Dockerfile"


def _hadolint(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [dev_tool("hadolint"), "--no-color", "--failure-threshold", "warning", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )


def _instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined and comments dropped."""
    logical: list[str] = []
    pending = ""
    for line in text.splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    pairs = []
    for line in logical:
        keyword, _, args = line.strip().partition(" ")
        pairs.append((keyword.upper(), args.strip()))
    return pairs


def _stages() -> list[list[tuple[str, str]]]:
    stages: list[list[tuple[str, str]]] = []
    for keyword, args in _instructions(DOCKERFILE.read_text()):
        if keyword == "FROM":
            stages.append([])
        stages[-1].append((keyword, args))
    return stages


def _last(stage: list[tuple[str, str]], keyword: str) -> str:
    found = [args for kw, args in stage if kw == keyword]
    assert found, f"the final stage has no {keyword}"
    return found[-1]


def test_hadolint_is_clean() -> None:
    result = _hadolint(DOCKERFILE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_would_catch_a_sloppy_dockerfile(tmp_path: Path) -> None:
    """The check above is not vacuous: the same call fails on the classic mistakes."""
    sloppy = tmp_path / "Dockerfile"
    sloppy.write_text("FROM python:latest\nRUN apt-get install curl\n")
    result = _hadolint(sloppy)
    assert result.returncode != 0, result.stdout + result.stderr
    assert "DL3007" in result.stdout  # the latest tag
    assert "DL3008" in result.stdout  # unpinned apt-get install


def test_the_parser_sees_the_stages() -> None:
    stages = _stages()
    assert len(stages) >= 2, "expected a multi-stage build"
    for stage in stages:
        image = stage[0][1].split()[0]
        assert re.fullmatch(r"python:3\.11[\w.-]*", image), image


def test_final_stage_runs_the_bot_as_non_root() -> None:
    final = _stages()[-1]
    user = _last(final, "USER").split(":")[0]
    assert user not in ("root", "0"), user
    assert json.loads(_last(final, "ENTRYPOINT")) == ["iam-bot"]
    assert json.loads(_last(final, "CMD")) == ["serve"]


def test_final_stage_checks_health_on_healthz_without_curl() -> None:
    check = _last(_stages()[-1], "HEALTHCHECK")
    assert "/healthz" in check and "urllib" in check
    assert "curl" not in check and "wget" not in check  # neither is in the slim image
    assert "PORT" in check  # follows the port the server listens on


def test_state_lives_on_the_volume() -> None:
    final = _stages()[-1]
    env = " ".join(args for kw, args in final if kw == "ENV")
    assert "IAM_BOT_STATE=sqlite:////data/" in env
    assert "/data" in _last(final, "VOLUME")


def test_image_carries_no_demo_or_dev_extras() -> None:
    stages = _stages()
    runs = [args for stage in stages for kw, args in stage if kw == "RUN"]
    for run in runs:
        assert "moto" not in run
        assert not re.search(r"\[(demo|dev)\]|optional-dependencies", run), run
    installs = [args for kw, args in stages[-1] if kw == "RUN" and "pip install" in args]
    assert installs and all("--no-index" in run for run in installs)  # only the built wheels
