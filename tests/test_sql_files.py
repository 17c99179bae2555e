"""Every query file runs the same through our loader and through psql.

Each file's header carries a `psql -v name=value ... -f sql/<file>` line; the test runs that
very line against the seeded database and compares its CSV output byte for byte with the
loader's statement run through psycopg2 (as COPY … TO STDOUT CSV, so the server formats the
values in both cases). Statements that write run inside a transaction that is rolled back.
"""

import io
import os
import re
import shlex
import subprocess

import psycopg2
import pytest

from csat.db import SQL_DIR, load
from tests.servers import psql_binary

QUERY_FILES = sorted(p for p in SQL_DIR.glob("*.sql"))
ROWS_STATEMENT = re.compile(r"^\s*(WITH|SELECT|INSERT|UPDATE|DELETE|VALUES)\b", re.I)


def header_invocation(path):
    """The -v assignments of the file's `-- psql ...` header line."""
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("--"):
            break
        if line.startswith("-- psql "):
            words = shlex.split(line[len("-- "):])
            assert words[-2:] == ["-f", f"sql/{path.name}"], f"{path.name}: header must end with -f sql/{path.name}"
            variables = {}
            for flag, value in zip(words, words[1:]):
                if flag == "-v":
                    name, _, val = value.partition("=")
                    variables[name] = val
            return variables
    pytest.fail(f"{path.name} has no '-- psql ...' line in its header")


def test_every_query_file_has_a_header():
    for path in QUERY_FILES:
        lines = path.read_text(encoding="utf-8").splitlines()
        assert lines[0].startswith(f"-- {path.name}: "), f"{path.name}: first line names the file and what it returns"
        assert any(line.startswith("-- Params:") for line in lines[:6]), f"{path.name}: no '-- Params:' line"


@pytest.mark.parametrize("path", QUERY_FILES, ids=lambda p: p.name)
def test_loader_and_psql_agree(path, shared_db):
    variables = header_invocation(path)
    query = load(path.stem)
    identifiers = {name: variables[name] for name in query.identifiers}
    params = query.params({name: variables.get(name) for name in query.parameters})
    sql = query.sql(identifiers)
    returns_rows = bool(ROWS_STATEMENT.match(sql))

    env = dict(os.environ, PGTZ="UTC", PGOPTIONS="")
    command = [psql_binary(), "-X", "-q", "--csv", "-v", "ON_ERROR_STOP=1", "-d", shared_db]
    for name, value in variables.items():
        command += ["-v", f"{name}={value}"]
    command += ["-c", "BEGIN", "-f", str(path), "-c", "ROLLBACK"]
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr

    conn = psycopg2.connect(shared_db, options="-c TimeZone=UTC")
    try:
        with conn.cursor() as cursor:
            if returns_rows:
                output = io.StringIO()
                copy = cursor.mogrify(sql, params).decode()
                cursor.copy_expert(f"COPY ({copy}) TO STDOUT WITH (FORMAT csv, HEADER)", output)
                assert output.getvalue().replace("\r\n", "\n") == result.stdout.replace("\r\n", "\n")
            else:
                cursor.execute(sql, params)
    finally:
        conn.rollback()
        conn.close()
