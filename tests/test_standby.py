"""DATABASE_READ_URL on a real streaming standby that lags, stops and comes back.

The module starts a private primary (initdb with Debian's /usr/lib/postgresql/<major>/bin),
migrates and seeds it, and takes a standby with `pg_basebackup -R` that applies WAL
recovery_min_apply_delay = 2 s late: the usual replica lag, made visible. Apps read the
standby and write the primary, as in production. Waits are for conditions (the service's
/readyz and /metrics, the standby's replay position), never bare sleeps.
"""

import http.client
import json
import re
import shutil
import time

import orjson
import psycopg2
import pytest

from app import create_app
from csat.migrations import apply_pending
from csat.seed import seed_demo_data
from tests.servers import (SEED, SEED_RATINGS, PrivatePostgres, add_ratings, bearer,
                           execute_autocommit, gunicorn, make_settings, make_token, private_dir,
                           request, wait_for)

pytestmark = pytest.mark.slow  # a streaming standby cluster

APPLY_DELAY = "'2s'"
WRITER = 1  # admin ids: the one who writes, and another who only reads
READER = 2
BIG_EXTRA_RATINGS = 40_000


def replayed_position(standby_url):
    return execute_autocommit(standby_url, "SELECT pg_wal_lsn_diff(pg_last_wal_replay_lsn(), '0/0')::bigint")[0][0]


def current_position(primary_url):
    return execute_autocommit(primary_url, "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint")[0][0]


@pytest.fixture(scope="module")
def cluster():
    """(primary, standby): `csat` seeded on both, `csat_big` with 40,000 more ratings."""
    directories = [private_dir("csat-primary-"), private_dir("csat-standby-")]
    primary = PrivatePostgres.create(directories[0])
    primary.start()
    standby = None
    try:
        execute_autocommit(primary.url, "CREATE DATABASE csat")
        conn = psycopg2.connect(primary.database_url("csat"))
        try:
            apply_pending(conn, log=lambda message: None)
            seed_demo_data(conn, ratings=SEED_RATINGS, random_seed=SEED)
        finally:
            conn.close()
        execute_autocommit(primary.url, "CREATE DATABASE csat_big TEMPLATE csat")
        add_ratings(primary.database_url("csat_big"), BIG_EXTRA_RATINGS)
        standby = primary.standby(directories[1], recovery_min_apply_delay=APPLY_DELAY)
        standby.start()
        yield primary, standby
    finally:
        for server in (standby, primary):
            if server is not None:
                try:
                    server.stop("immediate")
                except RuntimeError:
                    pass  # already stopped
        for directory in directories:
            shutil.rmtree(directory, ignore_errors=True)


def standby_app(primary, standby, database="csat", **settings):
    values = dict(database_read_url=standby.database_url(database), replica_check_seconds=0.2,
                  replica_max_lag_ms=60_000)
    values.update(settings)
    app = create_app(make_settings(primary.database_url(database), **values))
    app.config["TESTING"] = True
    return app


@pytest.fixture
def app(cluster):
    application = standby_app(*cluster)
    yield application
    application.extensions["csat_db"].close()


def get(client, path, admin=READER):
    response = client.get(path, headers=bearer(make_token(admin_id=admin)))
    assert response.status_code == 200, (path, response.get_json())
    return response


def replica_readiness(client):
    body = client.get("/readyz").get_json()
    return body["databases"]["replica"]


def metric(client, name, **labels):
    """The value of one sample of /metrics (None when absent)."""
    text = client.get("/metrics").get_data(as_text=True)
    label_text = ",".join(f'{key}="{value}"' for key, value in labels.items())
    pattern = re.escape(name) + (r"\{" + re.escape(label_text) + r"\}" if labels else "") + r" (\S+)"
    found = re.search(r"^" + pattern + r"$", text, re.M)
    return None if found is None else float(found.group(1))


def unfollowed_rating(primary, offset):
    """The offset-th newest rating without a follow-up (each test takes its own)."""
    return execute_autocommit(primary.database_url("csat"), """
        SELECT r.id FROM ratings r
        WHERE NOT EXISTS (SELECT 1 FROM rating_follow_ups f WHERE f.rating_id = r.id)
        ORDER BY r.created_at DESC, r.id DESC OFFSET %s LIMIT 1""", (offset,))[0][0]


def follow_up_seen(client, rating, admin):
    """(details, list row, history texts) of the rating's follow-up as `admin` reads them."""
    details = get(client, f"/csat/{rating}", admin).get_json()["details"]
    rows = get(client, "/csat?length=100&startDate=2000-01-01", admin).get_json()["data"]
    (row,) = [row for row in rows if row["rating_id"] == rating]
    history = get(client, f"/csat/{rating}/follow-ups", admin).get_json()["history"]
    return details["follow_up_comments"], row["follow_up_comments"], [v["comments"] for v in history]


def test_the_admin_who_wrote_reads_it_at_once_others_read_the_lagging_standby(cluster, app):
    primary, standby = cluster
    client = app.test_client()
    wait_for(lambda: replica_readiness(client)["serving_reads"], timeout=30)
    rating = unfollowed_rating(primary, 0)
    writer = bearer(make_token(admin_id=WRITER))

    for method, text, texts in (("POST", "Called the customer", ["Called the customer"]),
                                ("PUT", "Refund issued", ["Refund issued", "Called the customer"])):
        response = client.open("/csat/comments", method=method, headers=writer,
                               json={"ratingId": rating, "comments": text})
        assert response.status_code == 200, response.get_json()
        before = follow_up_seen(client, rating, READER)
        (written_at,) = execute_autocommit(primary.database_url("csat"),
                              "SELECT pg_wal_lsn_diff(commit_lsn, '0/0')::bigint FROM admin_read_positions "
                              "WHERE admin_id = %s", (WRITER,))[0]
        if replayed_position(standby.database_url("csat")) < written_at:
            # Still 2 s behind after the other admin's reads: they came from the standby.
            assert before != (text, text, texts)

        assert follow_up_seen(client, rating, WRITER) == (text, text, texts)

        # The standby catches up, and then every admin reads the write there.
        assert wait_for(lambda: replayed_position(standby.database_url("csat")) >= written_at, timeout=30)
        assert follow_up_seen(client, rating, READER) == (text, text, texts)


def test_the_writers_reads_return_to_the_standby_once_it_replayed_the_write(cluster, app):
    primary, standby = cluster
    client = app.test_client()
    wait_for(lambda: replica_readiness(client)["serving_reads"], timeout=30)
    monitor = app.extensions["csat_db"].replica_monitor()
    rating = unfollowed_rating(primary, 1)
    response = client.post("/csat/comments", headers=bearer(make_token(admin_id=WRITER)),
                           json={"ratingId": rating, "comments": "Called back"})
    assert response.status_code == 200
    (written_at,) = execute_autocommit(primary.database_url("csat"),
                          "SELECT pg_wal_lsn_diff(commit_lsn, '0/0')::bigint FROM admin_read_positions "
                          "WHERE admin_id = %s", (WRITER,))[0]
    sent_to_primary = metric(client, "csat_db_replica_fallbacks_total", reason="read_your_writes")
    get(client, f"/csat/{rating}", WRITER)
    if (monitor.state.replay_position or 0) < written_at:  # still not replayed after the read
        assert metric(client, "csat_db_replica_fallbacks_total", reason="read_your_writes") == sent_to_primary + 1

    # Once the monitor has seen the write replayed, the writer reads the standby again.
    assert wait_for(lambda: (monitor.state.replay_position or 0) >= written_at, timeout=30)
    sent_to_primary = metric(client, "csat_db_replica_fallbacks_total", reason="read_your_writes")
    for _ in range(3):
        assert get(client, f"/csat/{rating}", WRITER).get_json()["details"]["follow_up_comments"] == "Called back"
    assert metric(client, "csat_db_replica_fallbacks_total", reason="read_your_writes") == sent_to_primary


READS = ("/csat?length=10", "/csat/{rating}", "/csat/{rating}/follow-ups", "/csat/summary",
         "/csat/agents/list", "/csat?report=true")


def test_a_stopped_standby_sends_reads_to_the_primary_and_a_restarted_one_gets_them_back(cluster, app):
    primary, standby = cluster
    client = app.test_client()
    rating = unfollowed_rating(primary, 2)
    paths = [path.format(rating=rating) for path in READS]
    wait_for(lambda: replica_readiness(client)["serving_reads"], timeout=30)
    for path in paths:
        get(client, path)  # the pools hold standby connections, which the stop will kill

    standby.stop("fast")
    try:
        for path in paths:
            started = time.monotonic()
            get(client, path)
            assert time.monotonic() - started < 1.0, path
        assert replica_readiness(client) == {"reachable": False, "serving_reads": False, "lag_seconds": None}
        assert client.get("/readyz").status_code == 200  # the primary serves
        assert metric(client, "csat_db_replica_up") == 0
    finally:
        standby.start()

    assert wait_for(lambda: replica_readiness(client)["serving_reads"], timeout=30)
    assert metric(client, "csat_db_replica_up") == 1
    fallbacks = {reason: metric(client, "csat_db_replica_fallbacks_total", reason=reason)
                 for reason in ("unfit", "lost")}
    for path in paths:
        get(client, path)
    assert {reason: metric(client, "csat_db_replica_fallbacks_total", reason=reason)
            for reason in ("unfit", "lost")} == fallbacks  # every read went to the standby


def test_a_standby_further_behind_than_the_limit_is_left_until_it_catches_up(cluster):
    """DB_REPLICA_MAX_LAG_MS = 500 and a standby whose replay is paused (on top of its 2 s
    apply delay) behind a write: it becomes unfit, the lag shows in /metrics, reads go to
    the primary; replay resumes and reads return."""
    primary, standby = cluster
    app = standby_app(primary, standby, replica_max_lag_ms=500)
    client = app.test_client()
    try:
        assert wait_for(lambda: replica_readiness(client)["serving_reads"], timeout=30)
        execute_autocommit(standby.url, "SELECT pg_wal_replay_pause()")
        try:
            execute_autocommit(primary.database_url("csat"), "UPDATE ratings SET comment = 'changed on the primary' "
                                                "WHERE id = %s", (unfollowed_rating(primary, 3),))
            assert wait_for(lambda: not replica_readiness(client)["serving_reads"], timeout=30)
            assert metric(client, "csat_db_replica_lag_seconds") > 0.5
            assert metric(client, "csat_db_replica_serving_reads") == 0
            unfit = metric(client, "csat_db_replica_fallbacks_total", reason="unfit")
            get(client, "/csat?length=10")
            assert metric(client, "csat_db_replica_fallbacks_total", reason="unfit") == unfit + 1
        finally:
            execute_autocommit(standby.url, "SELECT pg_wal_replay_resume()")
        assert wait_for(lambda: replica_readiness(client)["serving_reads"], timeout=30)
        assert replica_readiness(client)["lag_seconds"] == 0
    finally:
        app.extensions["csat_db"].close()


def test_an_export_cancelled_by_a_recovery_conflict_ends_truncated(cluster, caplog):
    """A standby without hot_standby_feedback and with max_standby_streaming_delay = 0 cancels
    an export whose snapshot still needs rows the primary's VACUUM removed. The body raises
    (the server then drops the connection without the final chunk): never a clean end."""
    primary, _ = cluster
    standby = primary.standby(private_dir("csat-conflict-standby-"), hot_standby_feedback="off",
                              max_standby_streaming_delay="0")
    standby.start()
    app = standby_app(primary, standby, database="csat_big")
    client = app.test_client()
    try:
        big = primary.database_url("csat_big")
        assert wait_for(lambda: replayed_position(standby.database_url("csat_big")) >= current_position(big),
                        timeout=30)
        response = client.get("/csat?report=true", headers=bearer(make_token(admin_id=READER)),
                              buffered=False)
        chunks = iter(response.response)
        assert len(orjson.loads(next(chunks))) == 1000  # the export's snapshot is taken

        execute_autocommit(big, "DELETE FROM ratings WHERE ticket_id IS NULL AND id IN "
                   "(SELECT id FROM ratings WHERE ticket_id IS NULL ORDER BY id DESC LIMIT 5000)")
        execute_autocommit(big, "VACUUM ratings")
        vacuumed_at = current_position(big)
        assert wait_for(lambda: replayed_position(standby.database_url("csat_big")) >= vacuumed_at,
                        timeout=30)  # the replay that conflicts with the export is done
        with pytest.raises(psycopg2.Error) as ended:
            for _ in chunks:
                pass
        response.close()
        assert isinstance(ended.value, psycopg2.OperationalError)  # the standby ended the session
        assert wait_for(lambda: execute_autocommit(standby.database_url("csat_big"),
                                      "SELECT confl_snapshot FROM pg_stat_database_conflicts "
                                      "WHERE datname = current_database()")[0][0] >= 1, timeout=10)
        assert [record.outcome for record in caplog.records if record.name == "csat.exports"] == ["failed"]
    finally:
        app.extensions["csat_db"].close()
        standby.stop("immediate")
        shutil.rmtree(standby.data_dir.parent, ignore_errors=True)


def test_read_your_writes_holds_across_gunicorn_workers(cluster, tmp_path):
    """The read position lives in the primary, so whichever worker answers the next reads
    (each with its own pools and replica monitor) sends them to the primary."""
    primary, standby = cluster
    rating = unfollowed_rating(primary, 4)
    writer = bearer(make_token(admin_id=WRITER))
    with gunicorn(primary.database_url("csat"), tmp_path / "gunicorn.log", GUNICORN_WORKERS=2,
                  DATABASE_READ_URL=standby.database_url("csat"), DB_REPLICA_CHECK_SECONDS="0.2") as address:
        assert wait_for(lambda: b"csat_db_replica_serving_reads 1.0" in request(address, "/metrics")[2],
                        timeout=30)
        host, port = address.rsplit(":", 1)
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        conn.request("POST", "/csat/comments", body=json.dumps({"ratingId": rating, "comments": "Noted"}),
                     headers={"Content-Type": "application/json", **writer})
        assert conn.getresponse().status == 200
        conn.close()
        for _ in range(8):  # a new connection each: either worker may answer
            status, _, body = request(address, f"/csat/{rating}", writer)
            assert (status, orjson.loads(body)["details"]["follow_up_comments"]) == (200, "Noted")
