"""The life the service has: ratings arriving while it is measured (`run.py --ingest RATE`).

A background thread inserts RATE ratings a second (each a copy of an existing rating's
company, source and carrier, dated now, as a survey arriving from the platform would be),
posts a follow-up through the API every 10 s (POST /csat/comments, as an admin would), and
reassigns a ticket every 60 s. Everything it writes moves rating_filter_version, so no answer
stays remembered as it was for more than a second: what is measured is what admins get on a
platform that collects ratings all day. The thread counts what it wrote and how long each
write took (the follow-up POST's time is the API's).
"""

import json
import random
import statistics
import threading
import time

import psycopg2

FOLLOW_UP_EVERY_S = 10
REASSIGN_EVERY_S = 60

INSERT_RATING = """
INSERT INTO ratings (score, comment, source, source_platform, reference_id, ticket_id, company_id,
                     locale_id, user_id, carrier_id, created_at)
SELECT 1 + floor(random() * 5)::int, CASE WHEN random() < 0.6 THEN comment END, source, source_platform,
       reference_id + 100000000000, NULL, company_id, locale_id, user_id, carrier_id, now()
FROM ratings
WHERE id >= %s AND source <> 'ticket'
ORDER BY id LIMIT 1
"""
UNFOLLOWED_DETRACTOR = """
SELECT r.id FROM ratings r
WHERE r.id >= %s AND r.score <= 2
  AND NOT EXISTS (SELECT 1 FROM rating_follow_ups f WHERE f.rating_id = r.id)
ORDER BY r.id LIMIT 1
"""
REASSIGN_TICKET = """
UPDATE tickets SET assigned_admin_id = (SELECT id FROM administrators WHERE active ORDER BY random() LIMIT 1)
WHERE id = (SELECT ticket_id FROM ratings WHERE id >= %s AND ticket_id IS NOT NULL ORDER BY id LIMIT 1)
"""


class Ingest:
    """with Ingest(url, rate, client): ratings keep arriving inside the block."""

    def __init__(self, database_url, rate, post_client=None):
        self.database_url, self.rate, self.post_client = database_url, rate, post_client
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ingest", daemon=True)
        self.inserted = 0
        self.follow_ups = []  # POST /csat/comments milliseconds
        self.reassigned = 0
        self.failures = []

    def __enter__(self):
        if self.rate > 0:
            self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)

    def summary(self):
        return {"rate_per_s": self.rate, "ratings_inserted": self.inserted,
                "follow_ups_posted": len(self.follow_ups), "tickets_reassigned": self.reassigned,
                "follow_up_post_p50_ms": round(statistics.median(self.follow_ups), 1) if self.follow_ups else None,
                "failures": self.failures[:5]}

    def _run(self):
        rng = random.Random(20261207)
        conn = psycopg2.connect(self.database_url, application_name="bench-ingest")
        conn.autocommit = True
        with conn.cursor() as cursor:
            cursor.execute("SELECT min(id), max(id) FROM ratings")
            low, high = cursor.fetchone()
        started = time.monotonic()
        next_follow_up = started + FOLLOW_UP_EVERY_S
        next_reassign = started + REASSIGN_EVERY_S
        tick = 0
        try:
            while not self._stop.is_set():
                tick += 1
                try:
                    with conn.cursor() as cursor:
                        cursor.execute(INSERT_RATING, (rng.randint(low, high),))
                        self.inserted += cursor.rowcount
                        now = time.monotonic()
                        if self.post_client and now >= next_follow_up:
                            next_follow_up += FOLLOW_UP_EVERY_S
                            cursor.execute(UNFOLLOWED_DETRACTOR, (rng.randint(low, high),))
                            found = cursor.fetchone()
                            if found:
                                self._post_follow_up(found[0])
                        if now >= next_reassign:
                            next_reassign += REASSIGN_EVERY_S
                            cursor.execute(REASSIGN_TICKET, (rng.randint(low, high),))
                            self.reassigned += cursor.rowcount
                except psycopg2.Error as exc:
                    self.failures.append(str(exc).strip()[:200])
                self._stop.wait(max(0.0, started + tick / self.rate - time.monotonic()))
        finally:
            conn.close()

    def _post_follow_up(self, rating_id):
        body = json.dumps({"ratingId": rating_id, "comments": "Llamamos al cliente"}).encode()
        # Ten seconds apart, the POSTs outlive gunicorn's keep-alive: each opens its own
        # connection, so none is written into a socket the server has already closed.
        self.post_client.close()
        started = time.perf_counter()
        try:
            status, answer = self.post_client.post("/csat/comments", body)
        except OSError as exc:
            self.failures.append(f"POST /csat/comments: {exc!r}")
            return
        if status == 200:
            self.follow_ups.append((time.perf_counter() - started) * 1000)
        else:
            self.failures.append(f"POST /csat/comments {status}: {answer[:200]!r}")
