"""Property-based fuzzing of the whole REST API from its OpenAPI schema: never a 5xx."""

import subprocess
import sys
from pathlib import Path

from tests.conftest import Server


def test_no_generated_request_makes_the_server_fail(server: Server, tmp_path: Path) -> None:
    schemathesis = Path(sys.executable).with_name("schemathesis")
    result = subprocess.run(
        [
            str(schemathesis),
            "run",
            f"{server.url}/openapi.json",
            "--checks",
            "not_a_server_error",
            "-n",
            "40",
            "--seed",
            "1",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-4000:]
