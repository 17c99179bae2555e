"""`schemathesis run`, the CLI, against the service as production runs it (gunicorn).

From outside, over HTTP, with a token holding every permission: every operation of
/csat/openapi.json is exercised (documented examples, schema boundaries, random valid and
invalid inputs), and each response must be no server error, have a status, media type,
headers and body the document describes. Writes (POST/PUT comments) go to a database of
this test's own.

Bounded by SCHEMATHESIS_EXAMPLES (default 20 per operation: about 25 s with gunicorn's
start-up on 2 cores) and a fixed seed (SCHEMATHESIS_SEED), so a red run can be replayed.
A longer run by hand:

    SCHEMATHESIS_EXAMPLES=200 TEST_DATABASE_URL=... .venv/bin/python -m pytest tests/test_schemathesis_cli.py -s
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.servers import gunicorn, make_token

pytestmark = pytest.mark.slow  # schemathesis against gunicorn

SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"
EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "20"))
SEED = int(os.environ.get("SCHEMATHESIS_SEED", "20261207"))
# "No server error and no response the document does not describe." The checks about how
# the service should judge input (negative_data_rejection, positive_data_acceptance) need
# data the document cannot state (which locale ids exist, startDate <= endDate):
# tests/test_fuzz.py runs them in-process with that knowledge.
CHECKS = ("not_a_server_error", "status_code_conformance", "content_type_conformance",
          "response_headers_conformance", "response_schema_conformance")


def test_schemathesis_cli_finds_no_server_error_and_no_undocumented_response(fresh_db, tmp_path):
    token = make_token(expires_in=3600)
    with gunicorn(fresh_db, tmp_path / "gunicorn.log", GUNICORN_THREADS=4) as address:
        completed = subprocess.run(
            [str(SCHEMATHESIS), "run", f"http://{address}/csat/openapi.json",
             "--header", f"Authorization: Bearer {token}",
             "--checks", ",".join(CHECKS),
             "--phases", "examples,coverage,fuzzing",
             # One worker: with several, hypothesis calls ast.parse from concurrent threads,
             # which CPython 3.11 can fail with "SystemError: AST constructor recursion depth
             # mismatch" (a race in the interpreter, fixed in later releases).
             "--max-examples", str(EXAMPLES), "--seed", str(SEED), "--workers", "1",
             "--report-dir", str(tmp_path / "report")],
            # cwd: the CLI keeps a cache directory (.schemathesis/) in its working directory.
            cwd=tmp_path, capture_output=True, text=True, timeout=300,
            env={**os.environ, "NO_COLOR": "1"})
    output = completed.stdout + completed.stderr
    summary = [line for line in output.splitlines() if re.search(r"\d+ (passed|failed)|No issues", line)]
    print("\n".join(summary))
    assert completed.returncode == 0, output[-8000:]
