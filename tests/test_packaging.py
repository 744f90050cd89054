"""`pip install .` (a real wheel, not the editable checkout) gives a working `assistant`."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import ROOT

pytestmark = pytest.mark.slow  # a wheel built and installed


def test_the_wheel_ships_prompts_and_web_and_runs(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--quiet",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        timeout=300,
    )
    (wheel,) = tmp_path.glob("assistant-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "assistant/web/index.html" in names
    assert any(n.startswith("assistant/prompts/") for n in names)

    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--quiet",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
        timeout=300,
    )
    env = {**os.environ, "PYTHONPATH": str(target)}
    probe = (
        "import assistant.resources as r; print(r.resource_dir('web')); "
        "print(r.resource_dir('prompts'))"
    )
    found = subprocess.run(
        [sys.executable, "-c", probe],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    ).stdout.split()
    assert all(Path(p).is_relative_to(target) for p in found), found
    help_text = subprocess.run(
        [sys.executable, "-m", "assistant.cli", "--help"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    ).stdout
    assert "ingest" in help_text and "stats" in help_text
