"""Stage `growth`: each request shape as an admin meets it while ratings keep arriving.

The writer of ingest.py runs throughout (run.py --ingest). Each shape is asked SAMPLES times,
PAUSE_S apart, as a panel refreshed by an admin would be: the first request is reported on
its own (nothing remembered yet for a shape nobody asked before), then the median and the
slowest of the others. Between two requests about one rating arrives, so every later answer
is one brought up to date with the changes since the previous one, never one from memory as
it was. `how` is what the service itself reports in /metrics (csat_answers_total) for the
shape's requests: counts and summaries computed from the matching ratings, updated with the
changes since they were remembered, or remembered unchanged.

Then filter combinations nobody asked before, each requested once: a few scores, a source, a
30-day window, sometimes a carrier (lists), and 30-day summaries of one locale.
"""

import random
import statistics
import time
from datetime import date, timedelta
from urllib.parse import urlencode

from prometheus_client.parser import text_string_to_metric_families

SAMPLES = 11
PAUSE_S = 1.2
UNASKED_LISTS = 20
UNASKED_SUMMARIES = 10


def shapes(facts):
    """(name, path, target p50 ms, target max ms after the first) of the growth table."""
    end = date.fromisoformat(facts["end_date"])
    days_90 = {"startDate": (end - timedelta(days=89)).isoformat(), "endDate": end.isoformat()}
    days_30 = {"startDate": (end - timedelta(days=29)).isoformat(), "endDate": end.isoformat()}

    def lst(**query):
        return "/csat?" + urlencode(query) if query else "/csat"

    def summary(**query):
        return "/csat/summary?" + urlencode(query) if query else "/csat/summary"

    return [
        ("first page", lst(), 50, 150),
        ("score=5", lst(score=5), 50, 150),
        ("source=ticket", lst(source="ticket"), 50, 150),
        ("hasComment=true", lst(hasComment="true"), 50, 150),
        ("followUp=pending", lst(followUp="pending"), 50, 150),
        ("carrier", lst(carrier=facts["carrier"]), 50, 150),
        ("agents", lst(agents=",".join(map(str, facts["agents"]))), 50, 150),
        ("q=paquete", lst(q="paquete"), 50, 150),
        ("last 90 days", lst(**days_90), 50, 150),
        ("deep page", lst(start=500000, length=100), 50, 150),
        ("summary, all time", summary(), 300, None),
        ("summary, 90 days", summary(**days_90), 150, None),
        ("summary, 30 days, one locale, compare=previous",
         summary(localeId=1, compare="previous", **days_30), 150, None),
        ("summary, 90 days, q=", summary(q="paquete", **days_90), 2000, None),
    ]


def answers_had(client):
    """{(kind, how): n} from the service's /metrics (summed over its workers there)."""
    _, body = client.get("/metrics")
    return {(sample.labels["kind"], sample.labels["how"]): sample.value
            for family in text_string_to_metric_families(body.decode())
            for sample in family.samples if sample.name == "csat_answers_total"}


def _hows(before, after):
    return {f"{kind} {how}": int(after[key] - before.get(key, 0))
            for key in sorted(after) for kind, how in [key] if after[key] - before.get(key, 0)}


def measure(client, facts, say):
    results = {"shapes": {}, "unasked": {}}
    for name, path, p50_target, max_target in shapes(facts):
        before = answers_had(client)
        times, statuses = [], []
        for sample in range(SAMPLES):
            if sample:
                time.sleep(PAUSE_S)
            ms, status, _ = client.timed_get(path)
            times.append(ms)
            statuses.append(status)
        rest = sorted(times[1:])
        result = {"path": path, "first_ms": round(times[0], 1), "p50_ms": round(statistics.median(rest), 1),
                  "max_ms": round(rest[-1], 1), "non_200": sum(1 for s in statuses if s != 200),
                  "how": _hows(before, answers_had(client)),
                  "target_p50_ms": p50_target, "target_max_ms": max_target}
        results["shapes"][name] = result
        say(f"  {name:50s} first {result['first_ms']:8.1f}  p50 {result['p50_ms']:7.1f}  "
            f"max {result['max_ms']:7.1f} ms  {result['how']}")
    rng = random.Random(7)
    results["unasked"]["list"] = _unasked(client, rng, facts, "list", UNASKED_LISTS)
    results["unasked"]["summary"] = _unasked(client, rng, facts, "summary", UNASKED_SUMMARIES)
    for kind, result in results["unasked"].items():
        say(f"  unasked {kind:42s} p50 {result['p50_ms']:7.1f}  max {result['max_ms']:7.1f} ms "
            f"({result['requests']} requests, {result['non_200']} not 200)")
    return results


def _unasked(client, rng, facts, kind, count):
    end = date.fromisoformat(facts["end_date"])
    times, non_200 = [], 0
    for _ in range(count):
        last = end - timedelta(days=rng.randint(0, 600))
        window = {"startDate": (last - timedelta(days=29)).isoformat(), "endDate": last.isoformat()}
        if kind == "list":
            query = {"score": ",".join(map(str, sorted(rng.sample(range(1, 6), rng.randint(1, 3))))),
                     "source": rng.choice(["ticket", "carrier", "shop"]), **window}
            if rng.random() < 0.4:
                query["carrier"] = facts["carrier"]
            path = "/csat?" + urlencode(query)
        else:
            path = "/csat/summary?" + urlencode({"localeId": rng.randint(1, 5), **window})
        ms, status, _ = client.timed_get(path)
        times.append(ms)
        non_200 += status != 200
    return {"requests": count, "p50_ms": round(statistics.median(times), 1),
            "max_ms": round(max(times), 1), "non_200": non_200}


BULK_INSERT = """
INSERT INTO ratings (score, comment, source, source_platform, reference_id, company_id, locale_id,
                     user_id, carrier_id, created_at)
SELECT score, comment, source, source_platform, reference_id + 200000000000, company_id, locale_id,
       user_id, carrier_id, now()
FROM ratings WHERE source <> 'ticket' ORDER BY id DESC LIMIT 10000
"""


def bulk_insert_cost(conn, rounds=5):
    """Median ms of inserting 10,000 ratings in one statement, with the change log and without
    it (its trigger disabled), each in a transaction rolled back, alternated."""
    timings = {"with_log": [], "without_log": []}
    for _ in range(rounds):
        for variant in timings:
            with conn.cursor() as cursor:
                if variant == "without_log":
                    cursor.execute("ALTER TABLE ratings DISABLE TRIGGER rating_log_insert")
                started = time.perf_counter()
                cursor.execute(BULK_INSERT)
                timings[variant].append((time.perf_counter() - started) * 1000)
            conn.rollback()
    with_log, without_log = (statistics.median(timings[v]) for v in ("with_log", "without_log"))
    return {"with_log_ms": round(with_log, 1), "without_log_ms": round(without_log, 1),
            "ratio": round(with_log / without_log, 2)}
