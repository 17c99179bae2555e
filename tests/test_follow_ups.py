"""Admin follow-ups: POST/PUT /csat/comments and GET /csat/<id>/follow-ups.

Every test that may write runs on a database of its own (fresh_db, or this module's
`refusals` database for requests that must be refused before anything is written); the
shared database is only read. Races run over real HTTP against a threaded server.
"""

import csv
import io
import json
import os
import subprocess
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from app import create_app
from schemas.follow_ups import FollowUpVersion
from tests.servers import (RACERS, active_admins, assert_boom, bearer, blocker, follow_up, history,
                           make_settings, make_token, psql_binary, race, rating_id, send, sql_rows)

COMMENTS = "/csat/comments"
ADD = "csat-add-comments"
UPDATE = "csat-update-comments"
MENU = "menu-csat"
HISTORY_SQL = Path(__file__).resolve().parent.parent / "sql" / "follow_up_history.sql"
VERSION_FIELDS = tuple(FollowUpVersion().fields)


def locale_of(url, rating):
    return sql_rows(url, "SELECT locale_id FROM ratings WHERE id = %s", (rating,))[0][0]


def write(client, method, rating, comments, **token):
    return client.open(COMMENTS, method=method, json={"ratingId": rating, "comments": comments},
                       headers=bearer(make_token(**token)))


def assert_success(response):
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"success": True}


# --- creating and replacing -----------------------------------------------------------------

def test_post_creates_the_follow_up_as_the_callers(fresh_client, fresh_db):
    rating = rating_id(fresh_db, followed_up=False)
    admin = active_admins(fresh_db, 3)[-1]
    assert_success(write(fresh_client, "POST", rating, "Called the customer", admin_id=admin, permissions=[ADD]))
    assert follow_up(fresh_db, rating) == ("Called the customer", admin, None)
    assert history(fresh_db, rating) == []


def test_put_replaces_the_text_and_archives_the_old_one(fresh_client, fresh_db):
    rating = rating_id(fresh_db, followed_up=False)
    first, second = active_admins(fresh_db, 2)
    assert_success(write(fresh_client, "POST", rating, "Called the customer", admin_id=first))
    assert_success(write(fresh_client, "PUT", rating, "Refund issued", admin_id=second, permissions=[UPDATE]))

    assert follow_up(fresh_db, rating) == ("Refund issued", first, second)
    (archived,) = history(fresh_db, rating)
    created_at, updated_at = sql_rows(
        fresh_db, "SELECT created_at, updated_at FROM rating_follow_ups WHERE rating_id = %s", (rating,))[0]
    assert archived == ("Called the customer", first, created_at, second, updated_at)


@pytest.mark.parametrize("sent, stored", [
    ("  Called the customer \n\t", "Called the customer"),
    ("x" * 2000, "x" * 2000),
    ("  " + "é" * 2000 + "\n", "é" * 2000),  # the limit counts characters, after trimming
    ("Ação rápida, señor Müller: reembolso ✅ 👍🏽 — 退款", "Ação rápida, señor Müller: reembolso ✅ 👍🏽 — 退款"),
    ("línea 1\nlínea 2", "línea 1\nlínea 2"),
])
def test_comments_are_trimmed_and_round_trip(fresh_client, fresh_db, sent, stored):
    rating = rating_id(fresh_db, followed_up=False)
    assert_success(write(fresh_client, "POST", rating, sent))
    assert_success(write(fresh_client, "PUT", rating, sent + " "))
    assert follow_up(fresh_db, rating)[0] == stored
    assert [row[0] for row in history(fresh_db, rating)] == [stored]
    shown = fresh_client.get(f"/csat/{rating}/follow-ups", headers=bearer(make_token())).get_json()
    assert [version["comments"] for version in shown["history"]] == [stored, stored]


def test_post_where_a_follow_up_exists_is_409_and_keeps_it(fresh_client, fresh_db):
    rating = rating_id(fresh_db, followed_up=False)
    first, second = active_admins(fresh_db, 2)
    assert_success(write(fresh_client, "POST", rating, "first", admin_id=first))
    response = write(fresh_client, "POST", rating, "second", admin_id=second)
    assert response.status_code == 409
    assert response.get_json() == {"statusCode": 409, "error": "Conflict",
                                   "message": "This rating already has a follow-up; use PUT to change it"}
    assert follow_up(fresh_db, rating) == ("first", first, None)
    assert history(fresh_db, rating) == []


def test_put_without_a_follow_up_is_409_and_creates_nothing(fresh_client, fresh_db):
    rating = rating_id(fresh_db, followed_up=False)
    response = write(fresh_client, "PUT", rating, "nothing to replace")
    assert response.status_code == 409
    assert response.get_json() == {"statusCode": 409, "error": "Conflict",
                                   "message": "This rating has no follow-up yet; use POST to add one"}
    assert follow_up(fresh_db, rating) is None


# --- who may write --------------------------------------------------------------------------

PERMISSION_SETS = {
    "add only": [ADD],
    "update only": [UPDATE],
    "both": [ADD, UPDATE],
    "neither": [],
    "menu-csat only": [MENU],
}
REQUIRED = {"POST": ADD, "PUT": UPDATE}


@pytest.mark.parametrize("method", ["POST", "PUT"])
@pytest.mark.parametrize("permissions", PERMISSION_SETS.values(), ids=PERMISSION_SETS.keys())
def test_permission_matrix(fresh_client, fresh_db, method, permissions):
    """The method's own permission writes (200, or 409 in the wrong state); anything else is 403."""
    bare = rating_id(fresh_db, followed_up=False)
    followed = rating_id(fresh_db, followed_up=True)
    before = {rating: follow_up(fresh_db, rating) for rating in (bare, followed)}
    ready, wrong_state = (bare, followed) if method == "POST" else (followed, bare)
    allowed = REQUIRED[method] in permissions

    for rating, expected in ((wrong_state, 409), (ready, 200)):
        response = write(fresh_client, method, rating, "matrix text", permissions=permissions)
        if allowed:
            assert response.status_code == expected, response.get_json()
        else:
            assert_boom(response, 403, f"Requires permission {REQUIRED[method]}")

    after = {rating: follow_up(fresh_db, rating) for rating in (bare, followed)}
    assert after[wrong_state] == before[wrong_state]
    assert (after[ready] != before[ready]) is allowed
    if allowed:
        assert after[ready][0] == "matrix text"


# --- bodies the contract refuses ------------------------------------------------------------

@pytest.fixture(scope="module")
def refusals(databases, template_db):
    """(client, database url) of this module's own copy, for requests refused before any write."""
    url = databases.url(databases.create("follow_up_refusals", template=template_db))
    application = create_app(make_settings(url))
    application.config["TESTING"] = True
    yield application.test_client(), url
    application.extensions["csat_db"].close()


UNSUPPORTED = "The request body must be JSON (Content-Type: application/json)"
NOT_JSON = "The request body is not valid JSON"
NOT_OBJECT = "The request body must be a JSON object"
RANGE = "must be greater than or equal to 1 and less than or equal to 9223372036854775807."
LENGTH = '"comments" length must be between 1 and 2000.'
VALID = '{"ratingId": 1, "comments": "fine"}'

BAD_BODIES = {
    # name: (request keyword arguments, status, message, validation keys)
    "text/plain": (dict(data=VALID, content_type="text/plain"), 415, UNSUPPORTED, None),
    "form data": (dict(data={"ratingId": "1", "comments": "x"}), 415, UNSUPPORTED, None),
    "multipart": (dict(data={"ratingId": "1", "comments": "x"}, content_type="multipart/form-data"),
                  415, UNSUPPORTED, None),
    "no content type": (dict(data=VALID.encode()), 415, UNSUPPORTED, None),
    "invalid JSON": (dict(data='{"ratingId": 1,', content_type="application/json"), 422, NOT_JSON, None),
    "empty body": (dict(data="", content_type="application/json"), 422, NOT_JSON, None),
    "NaN": (dict(data='{"ratingId": NaN, "comments": "x"}', content_type="application/json"),
            422, NOT_JSON, None),
    "lone surrogate": (dict(data='{"ratingId": 1, "comments": "\\ud800"}', content_type="application/json"),
                       422, NOT_JSON, None),
    "invalid UTF-8": (dict(data=b'{"ratingId": 1, "comments": "\xff"}', content_type="application/json"),
                      422, NOT_JSON, None),
    "JSON array": (dict(json=[{"ratingId": 1, "comments": "x"}]), 422, NOT_OBJECT, None),
    "JSON string": (dict(json="ratingId"), 422, NOT_OBJECT, None),
    "JSON null": (dict(data="null", content_type="application/json"), 422, NOT_OBJECT, None),
    "unknown field": (dict(json={"ratingId": 1, "comments": "x", "rating_id": 1}), 400,
                      '"rating_id" unknown field.', ["rating_id"]),
    "two unknown fields": (dict(json={"ratingId": 1, "comments": "x", "b": 1, "a": 2}), 400,
                           '"a" unknown field.', ["a", "b"]),
    "missing ratingId": (dict(json={"comments": "x"}), 400,
                         '"ratingId" missing data for required field.', ["ratingId"]),
    "missing comments": (dict(json={"ratingId": 1}), 400,
                         '"comments" missing data for required field.', ["comments"]),
    "empty object": (dict(json={}), 400, '"comments" missing data for required field.',
                     ["comments", "ratingId"]),
    "ratingId 0": (dict(json={"ratingId": 0, "comments": "x"}), 400, f'"ratingId" {RANGE}', ["ratingId"]),
    "ratingId -1": (dict(json={"ratingId": -1, "comments": "x"}), 400, f'"ratingId" {RANGE}', ["ratingId"]),
    "ratingId beyond bigint": (dict(json={"ratingId": 2**63, "comments": "x"}), 400,
                               f'"ratingId" {RANGE}', ["ratingId"]),
    # Strings are refused, not coerced: the frontend sends numbers, and a string is its bug.
    "ratingId string": (dict(json={"ratingId": "12", "comments": "x"}), 400,
                        '"ratingId" not a valid integer.', ["ratingId"]),
    "ratingId float": (dict(json={"ratingId": 12.5, "comments": "x"}), 400,
                       '"ratingId" not a valid integer.', ["ratingId"]),
    "ratingId true": (dict(json={"ratingId": True, "comments": "x"}), 400,
                      '"ratingId" not a valid integer.', ["ratingId"]),
    "ratingId false": (dict(json={"ratingId": False, "comments": "x"}), 400,
                       '"ratingId" not a valid integer.', ["ratingId"]),
    "ratingId null": (dict(json={"ratingId": None, "comments": "x"}), 400,
                      '"ratingId" field may not be null.', ["ratingId"]),
    "comments empty": (dict(json={"ratingId": 1, "comments": ""}), 400, LENGTH, ["comments"]),
    "comments blank": (dict(json={"ratingId": 1, "comments": "   "}), 400, LENGTH, ["comments"]),
    "comments 2001 characters": (dict(json={"ratingId": 1, "comments": "x" * 2001}), 400, LENGTH, ["comments"]),
    "comments a number": (dict(json={"ratingId": 1, "comments": 5}), 400,
                          '"comments" not a valid string.', ["comments"]),
    "comments a list": (dict(json={"ratingId": 1, "comments": ["x"]}), 400,
                        '"comments" not a valid string.', ["comments"]),
    "comments null": (dict(json={"ratingId": 1, "comments": None}), 400,
                      '"comments" field may not be null.', ["comments"]),
    "comments with NUL": (dict(json={"ratingId": 1, "comments": "a\u0000b"}), 400,
                          '"comments" must not contain NUL characters.', ["comments"]),
    "body over the limit": (dict(data='{"ratingId": 1, "comments": "' + "x" * (64 * 1024) + '"}',
                                 content_type="application/json"),
                            413, "The request body is too large", None),
}


@pytest.mark.parametrize("method", ["POST", "PUT"])
@pytest.mark.parametrize("name", BAD_BODIES)
def test_bad_body_is_refused_with_its_boom(refusals, method, name):
    client, url = refusals
    options, status, message, keys = BAD_BODIES[name]
    before = sql_rows(url, "SELECT count(*), max(coalesce(updated_at, created_at)) FROM rating_follow_ups")
    response = client.open(COMMENTS, method=method, headers=bearer(make_token()), **options)
    expected = assert_boom(response, status, message)
    if keys is not None:
        assert expected["validation"] == {"source": "payload", "keys": keys}
    else:
        assert "validation" not in expected
    assert sql_rows(url, "SELECT count(*), max(coalesce(updated_at, created_at)) FROM rating_follow_ups") == before


def test_json_with_a_charset_is_json(fresh_client, fresh_db):
    rating = rating_id(fresh_db, followed_up=False)
    response = fresh_client.post(COMMENTS, data=json.dumps({"ratingId": rating, "comments": "ok"}),
                                 content_type="application/json; charset=utf-8", headers=bearer(make_token()))
    assert_success(response)


def test_the_token_is_checked_before_the_body(refusals):
    client, _ = refusals
    assert_boom(client.post(COMMENTS, data="not json", content_type="text/plain"), 401)


@pytest.mark.parametrize("method", ["POST", "PUT"])
def test_unknown_rating_is_404(refusals, method):
    client, _ = refusals
    assert_boom(write(client, method, 2**62, "x"), 404, "Rating not found")


@pytest.mark.parametrize("method", ["POST", "PUT"])
@pytest.mark.parametrize("followed_up", [False, True], ids=["without follow-up", "with follow-up"])
def test_rating_outside_the_callers_locales_is_404_and_untouched(refusals, method, followed_up):
    client, url = refusals
    rating = rating_id(url, followed_up=followed_up)
    elsewhere = 1 + locale_of(url, rating) % 5
    before = (follow_up(url, rating), history(url, rating))
    for locales in ([elsewhere], []):
        assert_boom(write(client, method, rating, "hidden", locales=locales), 404, "Rating not found")
        assert_boom(client.get(f"/csat/{rating}/follow-ups", headers=bearer(make_token(locales=locales))),
                    404, "Rating not found")
    assert (follow_up(url, rating), history(url, rating)) == before


def test_rating_inside_the_callers_locales_is_writable(fresh_client, fresh_db):
    rating = rating_id(fresh_db, followed_up=False)
    locales = [locale_of(fresh_db, rating), 1 + locale_of(fresh_db, rating) % 5]
    assert_success(write(fresh_client, "POST", rating, "visible", locales=locales))
    assert_success(write(fresh_client, "PUT", rating, "still visible", locales=locales))
    assert follow_up(fresh_db, rating)[0] == "still visible"


# --- races, over real HTTP ------------------------------------------------------------------

@pytest.fixture
def live_server(fresh_db):
    """Base (host, port) of the app served by a threaded werkzeug server on fresh_db.

    The pool holds every racer at once and the statement timeout outlasts the held locks,
    so only the database decides who wins.
    """
    application = create_app(make_settings(fresh_db, pool_max_size=RACERS + 5,
                                           pool_timeout_seconds=30.0, statement_timeout_ms=60000))
    server = make_server("127.0.0.1", 0, application, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[:2]
    server.shutdown()
    thread.join()
    application.extensions["csat_db"].close()


@pytest.mark.parametrize("held", [False, True], ids=["barrier", "all queued behind a lock"])
def test_concurrent_posts_exactly_one_wins(live_server, fresh_db, held):
    """held: an uncommitted follow-up makes all 20 wait at the primary key, then disappears."""
    rating = rating_id(fresh_db, followed_up=False)
    admins = active_admins(fresh_db, RACERS + 1)[1:]
    text_of = lambda admin: f"follow-up by admin {admin}"

    if held:
        with blocker(fresh_db, "INSERT INTO rating_follow_ups (rating_id, comments, created_by) "
                               "VALUES (%s, 'uncommitted', 1)", (rating,)) as release:
            results = race(live_server, "POST", rating, admins, text_of, release=lambda: release(RACERS))
    else:
        results = race(live_server, "POST", rating, admins, text_of)

    winners = [admin for admin, (status, _) in results.items() if status == 200]
    assert len(winners) == 1, results
    (winner,) = winners
    assert results[winner][1] == {"success": True}
    conflict = {"statusCode": 409, "error": "Conflict",
                "message": "This rating already has a follow-up; use PUT to change it"}
    assert [body for admin, (status, body) in results.items() if admin != winner] == [conflict] * (RACERS - 1)
    assert all(status == 409 for admin, (status, _) in results.items() if admin != winner)
    assert sql_rows(fresh_db, "SELECT count(*) FROM rating_follow_ups WHERE rating_id = %s", (rating,)) == [(1,)]
    assert follow_up(fresh_db, rating) == (text_of(winner), winner, None)
    assert history(fresh_db, rating) == []


@pytest.mark.parametrize("held", [False, True], ids=["barrier", "all queued behind a lock"])
def test_concurrent_puts_chain_without_losing_a_text(live_server, fresh_db, held):
    """held: a transaction locks the follow-up row until all 20 PUTs wait for it."""
    rating = rating_id(fresh_db, followed_up=False)
    original_author, *admins = active_admins(fresh_db, RACERS + 1)
    text_of = lambda admin: f"version by admin {admin} — ñ ✅"
    original = "the original text"
    status, _ = send(live_server, "POST", {"ratingId": rating, "comments": original},
                     make_token(admin_id=original_author, permissions=[ADD]))
    assert status == 200

    if held:
        with blocker(fresh_db, "SELECT 1 FROM rating_follow_ups WHERE rating_id = %s FOR UPDATE",
                     (rating,)) as release:
            results = race(live_server, "PUT", rating, admins, text_of, release=lambda: release(RACERS))
    else:
        results = race(live_server, "PUT", rating, admins, text_of)

    assert results == {admin: (200, {"success": True}) for admin in admins}
    archived = history(fresh_db, rating)
    assert len(archived) == RACERS
    current_text, created_by, updated_by = follow_up(fresh_db, rating)
    created_at, updated_at = sql_rows(
        fresh_db, "SELECT created_at, updated_at FROM rating_follow_ups WHERE rating_id = %s", (rating,))[0]

    # Every text written appears exactly once, each with its own author.
    every_text = [row[0] for row in archived] + [current_text]
    assert sorted(every_text) == sorted([original] + [text_of(admin) for admin in admins])
    authors = [row[1] for row in archived] + [updated_by]
    assert [text_of(a) if a != original_author else original for a in authors] == every_text
    assert created_by == original_author

    # Each version was replaced by the next one's author at the moment the next was written.
    assert archived[0][0] == original and archived[0][2] == created_at
    for earlier, later in zip(archived, archived[1:]):
        assert earlier[3:] == (later[1], later[2])
    assert archived[-1][3:] == (updated_by, updated_at)
    assert all(row[2] <= row[4] for row in archived)


# --- reading the history ---------------------------------------------------------------------

def edit_several_times(client, db_url):
    """A rating written by three admins over four versions; returns (rating, [(admin, text)...])."""
    rating = rating_id(db_url, followed_up=False)
    first, second, third = active_admins(db_url, 3)
    versions = [(first, "Llamé al cliente"), (second, 'Reembolso "parcial", 50 %'),
                (third, "Cliente contactado:\nproblema resuelto ✅"), (first, "Cerrado 👍🏽")]
    for index, (admin, text) in enumerate(versions):
        assert_success(write(client, "POST" if index == 0 else "PUT", rating, text, admin_id=admin))
    return rating, versions


def admin_names(url):
    return dict(sql_rows(url, "SELECT id, name FROM administrators"))


def run_history_sql(url, rating, locale_ids=""):
    command = [psql_binary(), "-X", "-q", "--csv", "-v", "ON_ERROR_STOP=1", "-d", url,
               "-v", f"rating_id={rating}", "-v", f"locale_ids={locale_ids}", "-f", str(HISTORY_SQL)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60,
                            env=dict(os.environ, PGOPTIONS=""))
    assert result.returncode == 0, result.stderr
    return list(csv.DictReader(io.StringIO(result.stdout)))


def test_history_lists_every_version_newest_first(fresh_client, fresh_db):
    rating, versions = edit_several_times(fresh_client, fresh_db)
    response = fresh_client.get(f"/csat/{rating}/follow-ups", headers=bearer(make_token(permissions=[MENU])))
    assert response.status_code == 200
    shown = response.get_json()["history"]
    names = admin_names(fresh_db)

    assert [v["version"] for v in shown] == [4, 3, 2, 1]
    assert [(v["written_by"], v["comments"]) for v in shown] == list(reversed(versions))
    assert all(set(v) == set(VERSION_FIELDS) for v in shown)
    assert [v["written_by_name"] for v in shown] == [names[v["written_by"]] for v in shown]
    current, *earlier = shown
    assert (current["replaced_by"], current["replaced_by_name"], current["replaced_at"]) == (None, None, None)
    for newer, older in zip(shown, shown[1:]):
        assert (older["replaced_by"], older["replaced_by_name"], older["replaced_at"]) == (
            newer["written_by"], newer["written_by_name"], newer["written_at"])
    assert all(v["written_at"].endswith("Z") and len(v["written_at"]) == 20 for v in shown)


def test_history_endpoint_and_psql_query_agree(fresh_client, fresh_db):
    rating, _ = edit_several_times(fresh_client, fresh_db)
    shown = fresh_client.get(f"/csat/{rating}/follow-ups", headers=bearer(make_token())).get_json()["history"]
    rows = run_history_sql(fresh_db, rating)

    assert len(rows) == len(shown) == 4
    for row, version in zip(rows, shown):
        assert row["rating_id"] == str(rating)
        for field in VERSION_FIELDS:
            value = version[field]
            assert row[field] == ("" if value is None else str(value)), field

    # No follow-up: one row with empty version columns for psql, an empty list for the API.
    bare = rating_id(fresh_db, followed_up=False)
    assert [row["rating_id"] for row in run_history_sql(fresh_db, bare)] == [str(bare)]
    assert all(row[field] == "" for row in run_history_sql(fresh_db, bare) for field in VERSION_FIELDS)
    # Outside the locales given: no row at all, like the endpoint's 404.
    elsewhere = 1 + locale_of(fresh_db, rating) % 5
    assert run_history_sql(fresh_db, rating, f"{{{elsewhere}}}") == []


def test_history_of_a_rating_without_follow_up_is_empty(client, shared_db):
    rating = rating_id(shared_db, followed_up=False)
    response = client.get(f"/csat/{rating}/follow-ups", headers=bearer(make_token(permissions=[MENU])))
    assert response.status_code == 200
    assert response.get_json() == {"history": []}


def test_history_of_a_seeded_follow_up_has_its_current_text(client, shared_db):
    rating = rating_id(shared_db, followed_up=True)
    comments, _, _ = follow_up(shared_db, rating)
    shown = client.get(f"/csat/{rating}/follow-ups", headers=bearer(make_token())).get_json()["history"]
    assert shown[0]["comments"] == comments and shown[0]["replaced_by"] is None
    assert len(shown) == 1 + len(history(shared_db, rating))


@pytest.mark.parametrize("path, message", [
    ("/csat/4611686018427387904/follow-ups", "Rating not found"),
    ("/csat/99999999999999999999/follow-ups", "Not Found"),  # beyond bigint: no such route
    ("/csat/-1/follow-ups", "Not Found"),
    ("/csat/abc/follow-ups", "Not Found"),
])
def test_history_of_an_unknown_rating_is_404(client, path, message):
    assert_boom(client.get(path, headers=bearer(make_token())), 404, message)


@pytest.mark.parametrize("permissions, status", [
    ([MENU], 200), ([ADD, UPDATE], 403), (["company-request-view"], 403), ([], 403),
])
def test_history_needs_menu_csat(client, shared_db, permissions, status):
    rating = rating_id(shared_db, followed_up=True)
    response = client.get(f"/csat/{rating}/follow-ups", headers=bearer(make_token(permissions=permissions)))
    if status == 200:
        assert response.status_code == 200
    else:
        assert_boom(response, 403, "Requires permission menu-csat")


def test_details_show_the_current_follow_up(fresh_client, fresh_db):
    """GET /csat/<id> (csat/routes/ratings.py) reads the same row: text, author and update time."""
    rating, versions = edit_several_times(fresh_client, fresh_db)
    headers = bearer(make_token())
    current = fresh_client.get(f"/csat/{rating}/follow-ups", headers=headers).get_json()["history"][0]
    response = fresh_client.get(f"/csat/{rating}", headers=headers)
    assert response.status_code == 200, response.get_json()
    details = response.get_json()["details"]
    assert details["follow_up_comments"] == versions[-1][1]
    assert details["follow_up_created_by"] == versions[0][0]
    assert details["follow_up_updated_by"] == versions[-1][0]
    assert details["follow_up_updated_at"] == current["written_at"]
