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


def header_lines(path):
    """The file's leading comment lines."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return lines[:next((i for i, line in enumerate(lines) if not line.startswith("--")), len(lines))]


def psql_line(path):
    """The header's `-- psql ...` command as one line: a line ending in a backslash continues
    on the next comment line (one `-v` a line), as in a shell."""
    lines = iter(header_lines(path))
    for line in lines:
        if line.startswith("-- psql "):
            command = line[len("-- "):]
            while command.endswith(" \\"):
                following = next(lines, "")
                assert following.startswith("--      "), f"{path.name}: psql line continues on {following!r}"
                command = command[:-2] + " " + following[len("--"):].strip()
            return command
    pytest.fail(f"{path.name} has no '-- psql ...' line in its header")


def header_invocation(path):
    """The -v assignments of the file's `-- psql ...` header line."""
    words = shlex.split(psql_line(path))
    assert words[-2:] == ["-f", f"sql/{path.name}"], f"{path.name}: header must end with -f sql/{path.name}"
    variables = {}
    for flag, value in zip(words, words[1:]):
        if flag == "-v":
            name, _, val = value.partition("=")
            variables[name] = val
    return variables


@pytest.mark.parametrize("path", QUERY_FILES, ids=lambda p: p.name)
def test_every_query_file_has_a_header(path):
    header = header_lines(path)
    assert re.match(rf"-- {re.escape(path.name)} :(one|many|none) — \S", header[0]), (
        f"{path.name}: the first line names the file, what it returns (:one, :many, :none) and what it is")
    assert load(path.stem).returns in ("one", "many", "none")
    assert any(line.startswith("-- Params:") for line in header), f"{path.name}: no '-- Params:' line"
    # A psql line longer than that holds one -v, whose value cannot be split.
    long_lines = [line for line in header[1:] if len(line) > 100 and (
        line.startswith("-- Params:") or (line.startswith(("-- psql ", "--      -")) and line.count("-v ") > 1))]
    assert long_lines == [], f"{path.name}: wrap Params and psql lines at 100 characters"


@pytest.mark.parametrize("path", QUERY_FILES, ids=lambda p: p.name)
def test_loader_and_psql_agree(path, shared_db):
    variables = header_invocation(path)
    query = load(path.stem)
    identifiers = {name: variables[name] for name in query.identifiers}
    params = query.params({name: variables.get(name) for name in query.parameters})
    sql = query.sql(identifiers)
    returns_rows = query.returns != "none"

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
                if query.returns == "one":
                    assert len(output.getvalue().splitlines()) <= 2, f"{path.name} is :one but returned rows"
            else:
                cursor.execute(sql, params)
                assert cursor.description is None, f"{path.name} is :none but returns rows"
    finally:
        conn.rollback()
        conn.close()


FILTER_PARAMETERS = ("locale_ids", "company_ids", "sources", "source_platforms", "rating", "scores",
                     "start_date", "end_date", "time_zone", "agent_ids", "carriers", "has_comment",
                     "follow_up", "search", "resolutions")


@pytest.mark.parametrize("path", [p for p in QUERY_FILES if "csat_filtered_ratings(" in p.read_text(encoding="utf-8")],
                         ids=lambda p: p.name)
def test_filter_parameters_are_converted_in_one_place(path):
    """A query that filters ratings hands the filter parameters to csat_list_filters_of
    (sql/definitions) once, in that order, and converts none of them itself."""
    body = "\n".join(line for line in path.read_text(encoding="utf-8").splitlines()
                     if not line.lstrip().startswith("--"))
    call = re.findall(r"csat_list_filters_of\(([^)]*)\)", body)
    assert len(call) == 1, f"{path.name}: one csat_list_filters_of(...) call"
    assert re.findall(r":'(\w+)'", call[0]) == list(FILTER_PARAMETERS)
    for name in FILTER_PARAMETERS:
        assert body.count(f":'{name}'") == 1, f"{path.name}: :'{name}' outside csat_list_filters_of"
