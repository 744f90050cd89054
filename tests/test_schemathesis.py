"""Schemathesis generates requests from /openapi.json against the real server: no 5xx."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from conftest import serve_app

from assistant.api import create_app
from assistant.archive import Archive
from assistant.embed import NgramEmbedder
from assistant.service import Assistant
from assistant.settings import Settings

pytestmark = pytest.mark.slow  # hundreds of generated requests

SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"


def test_no_server_errors_for_generated_requests(
    indexed: Settings, ngram: NgramEmbedder, tmp_path: Path
) -> None:
    with serve_app(create_app(indexed, Assistant(Archive(indexed, ngram)))) as url:
        paths = httpx.get(f"{url}/openapi.json").json()["paths"]
        operations = sum(len(methods) for methods in paths.values())
        run = subprocess.run(
            [
                str(SCHEMATHESIS),
                "run",
                f"{url}/openapi.json",
                "--checks",
                "not_a_server_error",
                "--max-examples",
                "30",
                "--request-timeout",
                "60",
                "--workers",
                "1",
                "--seed",
                "1",
                "--report-dir",
                str(tmp_path),
            ],
            capture_output=True,
            text=True,
            timeout=900,
            cwd=tmp_path,
        )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    cases = re.search(r"(\d+) generated, (\d+) passed", run.stdout)
    assert cases and int(cases.group(2)) > 200, run.stdout[-2000:]
    assert f"Tested: {operations}" in run.stdout  # every operation in the schema
