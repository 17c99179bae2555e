"""Targets checked against results, and the human table written into benchmarks/README.md."""

import json
import re
from pathlib import Path

START = "<!-- results:start (written by benchmarks/run.py) -->"
END = "<!-- results:end -->"

WRK_P99_MS = 250
EXPORT_JSON_ROWS_PER_S = 150_000
EXPORT_JSON_SHARE = 0.45
EXPORT_CSV_SHARE = 0.70  # the Excel-ready CSV (and the raw CSV)
EXPORT_XLSX_SHARE = 0.25
EXPORT_BODIES = ("json", "csv", "csv_raw", "xlsx")
EXPORT_TTFB_MS = 100
EXPORT_RSS_MB = 50
SEED_SECONDS = 30


def shape_line(name, result):
    if "status" in result:
        return f"{name:<22} {result['status']} ({result['path']})"
    return (f"{name:<22} http p50 {result['http_p50_ms']:8.2f} p95 {result['http_p95_ms']:8.2f}"
            f"   sql p50 {result['sql_p50_ms']:8.2f}   added {result['added_ms']:5.2f}"
            f"   ratio {result['ratio']:5.2f}"
            f"   (plan {result['plan_ms']:.2f} + exec {result['exec_ms']:.2f})")


def overhead_line(result):
    return (f"fixed cost of a request: GET /healthz {result['healthz_http_p50_ms']:.2f} ms, "
            f"auth lookup (admin_get) SQL {result['admin_get_sql_p50_ms']:.2f} ms; after "
            f"{result['idle_wait_ms']} ms waiting on the database: "
            f"{result['healthz_http_after_wait_p50_ms']:.2f} ms and "
            f"{result['admin_get_sql_after_wait_p50_ms']:.2f} ms")


def overhead_text(overhead):
    text = ("Fixed cost of every request, outside its SQL (medians): the HTTP stack "
            f"(gunicorn + Flask + access log + metrics, `GET /healthz`) "
            f"{overhead['healthz_http_p50_ms']:.2f} ms; the auth lookup of the admin "
            f"(`admin_get`, one round trip) {overhead['admin_get_sql_p50_ms']:.2f} ms.")
    if "idle_wait_ms" in overhead:
        text += (f" The same right after {overhead['idle_wait_ms']} ms of waiting on the "
                 f"database, as a shape's HTTP request comes after its SQL side: "
                 f"{overhead['healthz_http_after_wait_p50_ms']:.2f} ms and "
                 f"{overhead['admin_get_sql_after_wait_p50_ms']:.2f} ms.")
    return text


def load_line(tool, result):
    if "error" in result:
        return f"{tool} c={result['connections']}: failed: {result['error']}"
    rate = result.get("requests_per_s", result.get("transactions_per_s"))
    errors = result.get("errors", result.get("failed"))
    return (f"{tool:<8} c={result['connections']:<3} {rate:8.1f}/s  p50 {result['p50_ms']:7.1f}"
            f"  p95 {result['p95_ms']:7.1f}  p99 {result['p99_ms']:7.1f} ms  errors {errors}")


def export_line(name, result):
    return (f"export {name:<7} {result['rows_per_s']:>9,} rows/s ({result['share_of_copy']:.0%} of "
            f"COPY {result['copy_rows_per_s']:,})  ttfb {result['ttfb_ms']} ms "
            f"(max {result.get('ttfb_max_ms', result['ttfb_ms'])})  "
            f"rss +{result['rss_growth_mb']} MB  status {result['status']}")


def seed_seconds(seed):
    """The seed's own time as `flask seed` reports it (wall time includes app start-up)."""
    match = re.search(r"in ([\d.]+) s", seed.get("flask_output", ""))
    return float(match.group(1)) if match else seed.get("wall_s")


def evaluate(results):
    """[{target, value, holds}] for every target of issue 7 that this run measured."""
    checks = []

    def check(label, value, limit, at_least=False):
        if value is None:
            checks.append({"target": label, "value": None, "holds": False})
            return
        holds = value >= limit if at_least else value <= limit
        checks.append({"target": label, "value": value, "holds": holds})

    for name, shape in results.get("shapes", {}).items():
        target = shape.get("target", {})
        if "status" in shape:
            if "p50_ms" in target:
                check(f"{name} HTTP p50 <= {target['p50_ms']} ms ({shape['status']})", None,
                      target["p50_ms"])
            continue
        if "p50_ms" in target:
            check(f"{name} HTTP p50 <= {target['p50_ms']} ms", shape["http_p50_ms"], target["p50_ms"])
        if "p95_ms" in target:
            check(f"{name} HTTP p95 <= {target['p95_ms']} ms", shape["http_p95_ms"], target["p95_ms"])
        if "ratio" in target:
            check(f"{name} HTTP/SQL <= {target['ratio']}", shape["ratio"], target["ratio"])
        if "added_ms" in target:
            check(f"{name} HTTP p50 - SQL p50 <= {target['added_ms']} ms", shape["added_ms"],
                  target["added_ms"])
    for run in results.get("concurrency", {}).get("wrk", []):
        if run["connections"] == 64:
            check("wrk 64 connections: errors = 0", run["errors"], 0)
            check(f"wrk 64 connections: p99 <= {WRK_P99_MS} ms", run["p99_ms"], WRK_P99_MS)
    export = results.get("export", {})
    if "json" in export:
        check(f"export JSON >= {EXPORT_JSON_ROWS_PER_S:,} rows/s", export["json"]["rows_per_s"],
              EXPORT_JSON_ROWS_PER_S, at_least=True)
        check(f"export JSON >= {EXPORT_JSON_SHARE:.0%} of COPY", export["json"]["share_of_copy"],
              EXPORT_JSON_SHARE, at_least=True)
    for name, share in (("csv", EXPORT_CSV_SHARE), ("csv_raw", EXPORT_CSV_SHARE),
                        ("xlsx", EXPORT_XLSX_SHARE)):
        if name in export:
            check(f"export {name.upper()} >= {share:.0%} of COPY", export[name]["share_of_copy"],
                  share, at_least=True)
    for name in EXPORT_BODIES:
        if name in export:
            check(f"export {name.upper()} TTFB <= {EXPORT_TTFB_MS} ms", export[name]["ttfb_ms"],
                  EXPORT_TTFB_MS)
            check(f"export {name.upper()} worker RSS growth <= {EXPORT_RSS_MB} MB",
                  export[name]["rss_growth_mb"], EXPORT_RSS_MB)
    growth = results.get("growth", {})
    for name, shape in growth.get("shapes", {}).items():
        check(f"growth {name}: p50 <= {shape['target_p50_ms']} ms", shape["p50_ms"], shape["target_p50_ms"])
        if shape["target_max_ms"]:
            check(f"growth {name}: max after the first <= {shape['target_max_ms']} ms", shape["max_ms"],
                  shape["target_max_ms"])
        check(f"growth {name}: no answer but 200", shape["non_200"], 0)
    for kind, (p50, most) in (("list", (150, 1000)), ("summary", (300, 1000))):
        unasked = growth.get("unasked", {}).get(kind)
        if unasked:
            check(f"growth unasked {kind}: p50 <= {p50} ms", unasked["p50_ms"], p50)
            check(f"growth unasked {kind}: none over {most} ms", unasked["max_ms"], most)
    if "bulk_insert_10k" in growth:
        check("10,000-rating insert with the change log <= 2x without", growth["bulk_insert_10k"]["ratio"], 2)
    follow_up_ms = results["run"].get("ingest", {}).get("follow_up_post_p50_ms")
    if follow_up_ms is not None:
        check("follow-up POST p50 <= 20 ms (while measured)", follow_up_ms, 20)
    if "seed" in results and "failed" in results["seed"]:
        check(f"seed {results['seed']['ratings']:,} ratings <= {SEED_SECONDS} s (failed)", None,
              SEED_SECONDS)
    elif "seed" in results:
        check(f"seed {results['seed']['ratings']:,} ratings <= {SEED_SECONDS} s",
              seed_seconds(results["seed"]), SEED_SECONDS)
    return checks


def markdown(results):
    machine, run = results["machine"], results["run"]
    pg = machine.get("postgresql", {})
    lines = [
        f"Run {run['at']} on commit {run['commit']}{' (+ uncommitted changes)' if run['worktree_dirty'] else ''}, "
        f"database `{run['database']}` with {run.get('ratings', 0):,} ratings, "
        f"{run.get('gunicorn_workers', '?')} gunicorn workers (production gunicorn.conf.py), "
        f"{run['iterations']} samples per shape and side, hot cache; full run {run.get('duration_s')} s.",
        f"Machine: {machine['cpu']}, {machine['cores']} cores, {machine['memory_gb']} GB, "
        f"Linux {machine['kernel']}, Python {machine['python']}, {pg.get('version', '?')} "
        f"(shared_buffers {pg.get('shared_buffers')}, work_mem {pg.get('work_mem')}, jit {pg.get('jit')}). "
        f"Load average at start: {', '.join(f'{v:.2f}' for v in run['load_average_at_start'])} "
        f"(the machine is shared with other work).",
        "",
        "| shape | request | HTTP p50 ms | HTTP p95 ms | SQL p50 ms | SQL p95 ms | HTTP − SQL ms | HTTP/SQL | plan + exec ms (EXPLAIN ANALYZE) | target |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    holds = {c["target"]: c["holds"] for c in results.get("targets", [])}
    for name, shape in results.get("shapes", {}).items():
        if "status" in shape:
            lines.append(f"| {name} | `{shape['path']}` | {shape['status']} | | | | | | | ✗ |")
            continue
        lines.append(
            f"| {name} | {shape['note']} | {shape['http_p50_ms']:.1f} | {shape['http_p95_ms']:.1f} | "
            f"{shape['sql_p50_ms']:.1f} | {shape['sql_p95_ms']:.1f} | "
            f"{shape['http_p50_ms'] - shape['sql_p50_ms']:.2f} | "
            f"{shape['ratio']:.2f} | "
            f"{shape['plan_ms']:.1f} + {shape['exec_ms']:.1f} | {target_text(name, shape, holds)} |")
    overhead = results.get("overhead")
    if overhead:
        lines += ["", overhead_text(overhead)]
    for key in sorted(k for k in results if k.startswith("concurrency")):
        concurrency = results[key]
        left_out = concurrency.get("excluded")
        lines += ["", f"Concurrency{' (diagnostic: without ' + ', '.join(left_out) + ')' if left_out else ''}, "
                  f"{concurrency['seconds']} s per run, mix of "
                  f"{len(concurrency['mix'])} requests in rotation: "
                  + ", ".join(f"`{p}`" for p in concurrency["mix"]), "",
                  "| tool | connections | req/s | p50 ms | p95 ms | p99 ms | errors |",
                  "|---|---:|---:|---:|---:|---:|---:|"]
        for run_ in concurrency.get("wrk", []):
            lines.append(f"| wrk → gunicorn | {run_['connections']} | {run_['requests_per_s']:.0f} | "
                         f"{run_['p50_ms']:.1f} | {run_['p95_ms']:.1f} | {run_['p99_ms']:.1f} | "
                         f"{run_['errors']} |")
        for run_ in concurrency.get("pgbench", []):
            if "error" in run_:
                lines.append(f"| pgbench (same SQL) | {run_['connections']} | failed: {run_['error'][:140]} | | | | |")
                continue
            lines.append(f"| pgbench (same SQL) | {run_['connections']} | {run_['transactions_per_s']:.0f} | "
                         f"{run_['p50_ms']:.1f} | {run_['p95_ms']:.1f} | {run_['p99_ms']:.1f} | "
                         f"{run_['failed']} |")
    export = results.get("export")
    if export:
        lines += ["", f"Export of all {export['rows']:,} ratings:", "",
                  "| format | rows/s | psql COPY rows/s | share of COPY | TTFB ms | worker RSS growth MB | seconds |",
                  "|---|---:|---:|---:|---:|---:|---:|"]
        for name in EXPORT_BODIES:
            if name in export:
                e = export[name]
                lines.append(f"| {name.upper()} | {e['rows_per_s']:,} | {e['copy_rows_per_s']:,} | "
                             f"{e['share_of_copy']:.0%} | {e['ttfb_ms']} | {e['rss_growth_mb']} | {e['seconds']} |")
    growth = results.get("growth")
    if growth and growth.get("shapes"):
        ingest = run.get("ingest", {})
        lines += ["", "Growth: each shape 11 times, "
                  f"1.2 s apart, while a writer inserted {ingest.get('rate_per_s')} rating/s "
                  f"({ingest.get('ratings_inserted')} in the run), posted {ingest.get('follow_ups_posted')} "
                  f"follow-ups (POST p50 {ingest.get('follow_up_post_p50_ms')} ms) and reassigned "
                  f"{ingest.get('tickets_reassigned')} tickets. `how`: the service's own count of how "
                  "each answer was had (csat_answers_total).", "",
                  "| shape | first ms | p50 ms | max after first ms | target | how |",
                  "|---|---:|---:|---:|---|---|"]
        for name, shape in growth["shapes"].items():
            target = f"p50 ≤ {shape['target_p50_ms']}" + (f", max ≤ {shape['target_max_ms']}"
                                                          if shape["target_max_ms"] else "")
            hows = ", ".join(f"{k} {v}" for k, v in shape["how"].items()) or "–"
            lines.append(f"| {name} | {shape['first_ms']} | {shape['p50_ms']} | {shape['max_ms']} | "
                         f"{target} | {hows} |")
        for kind, unasked in growth.get("unasked", {}).items():
            lines.append(f"| {unasked['requests']} {kind} filter combinations nobody asked before, once each | "
                         f"| {unasked['p50_ms']} | {unasked['max_ms']} (max) | | computed |")
        if "bulk_insert_10k" in growth:
            bulk = growth["bulk_insert_10k"]
            lines += ["", f"Inserting 10,000 ratings in one statement: {bulk['with_log_ms']} ms with the change "
                      f"log, {bulk['without_log_ms']} ms without it ({bulk['ratio']}×)."]
    if "seed" in results and "failed" in results["seed"]:
        lines += ["", f"Seed: `flask seed --ratings {results['seed']['ratings']:,}` failed in this run: "
                  f"{results['seed']['failed']}"]
    elif "seed" in results:
        seed = results["seed"]
        lines += ["", f"Seed: `flask seed --ratings {seed['ratings']:,}` took {seed_seconds(seed)} s "
                  f"(its own report: \"{seed['flask_output']}\"; {seed['wall_s']} s wall with start-up)."]
    comparison = growth_comparison(Path(__file__).resolve().parent / "results")
    if comparison:
        lines += ["", comparison]
    checks = results.get("targets", [])
    if checks:
        failing = [c for c in checks if not c["holds"]]
        lines += ["", f"Targets: {len(checks) - len(failing)} of {len(checks)} hold."
                  + ("" if not failing else " Not holding: "
                     + "; ".join(f"{c['target']} (measured {c['value']})" for c in failing) + ".")]
    return "\n".join(lines)


def target_text(name, shape, holds):
    """Each target of the shape with its own mark, e.g. "p50 ≤ 25 ms ✓, HTTP − SQL ≤ 1.5 ms ✗"."""
    target = shape.get("target", {})
    parts = []
    for key, label, check_label in (
            ("p50_ms", "p50 ≤ {} ms", "{} HTTP p50 <= {} ms"),
            ("p95_ms", "p95 ≤ {} ms", "{} HTTP p95 <= {} ms"),
            ("ratio", "ratio ≤ {}", "{} HTTP/SQL <= {}"),
            ("added_ms", "HTTP − SQL ≤ {} ms", "{} HTTP p50 - SQL p50 <= {} ms")):
        if key in target:
            ok = holds.get(check_label.format(name, target[key]))
            parts.append(label.format(target[key]) + (" ✓" if ok else " ✗"))
    return ", ".join(parts) or "–"


def growth_results_path(folder, ratings):
    return folder / f"growth_{ratings // 1_000_000}m.json"


def growth_comparison(folder):
    """Markdown: each growth shape's p50 at 1M and at 10M ratings (their last runs), or ""."""
    runs = {}
    for millions in (1, 10):
        path = growth_results_path(folder, millions * 1_000_000)
        if path.exists():
            runs[millions] = json.loads(path.read_text(encoding="utf-8"))
    if len(runs) < 2:
        return ""
    small, large = runs[1]["growth"], runs[10]["growth"]
    lines = ["1M vs 10M ratings, the writer running (each size's last `growth` run: "
             f"{runs[1]['run']['at']} and {runs[10]['run']['at']}). p50 after the first request, "
             "then the first request (computed: nothing remembered yet for that shape):", "",
             "| shape | 1M p50 ms | 10M p50 ms | 10M / 1M | 1M first ms | 10M first ms | answers at 10M |",
             "|---|---:|---:|---:|---:|---:|---|"]
    for name, shape in large["shapes"].items():
        before = small["shapes"].get(name)
        if not before:
            continue
        hows = ", ".join(f"{k} {v}" for k, v in shape["how"].items()) or "–"
        lines.append(f"| {name} | {before['p50_ms']} | {shape['p50_ms']} | "
                     f"{shape['p50_ms'] / before['p50_ms']:.1f}× | {before['first_ms']} | {shape['first_ms']} | {hows} |")
    for kind in ("list", "summary"):
        if kind in small.get("unasked", {}) and kind in large.get("unasked", {}):
            a, b = small["unasked"][kind], large["unasked"][kind]
            lines.append(f"| unasked {kind} combinations (each once, computed) | {a['p50_ms']} | {b['p50_ms']} | "
                         f"{b['p50_ms'] / a['p50_ms']:.1f}× | max {a['max_ms']} | max {b['max_ms']} | computed |")
    return "\n".join(lines)


def update_readme(path, table):
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    block = f"{START}\n{table}\n{END}"
    if START in text and END in text:
        text = text[:text.index(START)] + block + text[text.index(END) + len(END):]
    else:
        text = text.rstrip() + "\n\n## Latest results\n\n" + block + "\n"
    path.write_text(text, encoding="utf-8")
