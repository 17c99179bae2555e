"""Targets checked against results, and the human table written into benchmarks/README.md."""

import re

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
            f"   sql p50 {result['sql_p50_ms']:8.2f}   ratio {result['ratio']:5.2f}"
            f"   (plan {result['plan_ms']:.2f} + exec {result['exec_ms']:.2f})")


def overhead_line(result):
    return (f"fixed cost of a request: GET /healthz {result['healthz_http_p50_ms']:.2f} ms, "
            f"auth lookup (admin_get) SQL {result['admin_get_sql_p50_ms']:.2f} ms")


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
        "| shape | request | HTTP p50 ms | HTTP p95 ms | SQL p50 ms | SQL p95 ms | HTTP/SQL | plan + exec ms (EXPLAIN ANALYZE) | target |",
        "|---|---|---:|---:|---:|---:|---:|---|---|",
    ]
    holds = {c["target"]: c["holds"] for c in results.get("targets", [])}
    for name, shape in results.get("shapes", {}).items():
        if "status" in shape:
            lines.append(f"| {name} | `{shape['path']}` | {shape['status']} | | | | | | ✗ |")
            continue
        lines.append(
            f"| {name} | {shape['note']} | {shape['http_p50_ms']:.1f} | {shape['http_p95_ms']:.1f} | "
            f"{shape['sql_p50_ms']:.1f} | {shape['sql_p95_ms']:.1f} | {shape['ratio']:.2f} | "
            f"{shape['plan_ms']:.1f} + {shape['exec_ms']:.1f} | {target_text(name, shape, holds)} |")
    overhead = results.get("overhead")
    if overhead:
        lines += ["", "Fixed cost of every request, outside its SQL (medians): the HTTP stack "
                  f"(gunicorn + Flask + access log + metrics, `GET /healthz`) "
                  f"{overhead['healthz_http_p50_ms']:.2f} ms; the auth lookup of the admin "
                  f"(`admin_get`, one round trip) {overhead['admin_get_sql_p50_ms']:.2f} ms."]
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
    if "seed" in results and "failed" in results["seed"]:
        lines += ["", f"Seed: `flask seed --ratings {results['seed']['ratings']:,}` failed in this run: "
                  f"{results['seed']['failed']}"]
    elif "seed" in results:
        seed = results["seed"]
        lines += ["", f"Seed: `flask seed --ratings {seed['ratings']:,}` took {seed_seconds(seed)} s "
                  f"(its own report: \"{seed['flask_output']}\"; {seed['wall_s']} s wall with start-up)."]
    checks = results.get("targets", [])
    if checks:
        failing = [c for c in checks if not c["holds"]]
        lines += ["", f"Targets: {len(checks) - len(failing)} of {len(checks)} hold."
                  + ("" if not failing else " Not holding: "
                     + "; ".join(f"{c['target']} (measured {c['value']})" for c in failing) + ".")]
    return "\n".join(lines)


def target_text(name, shape, holds):
    """Each target of the shape with its own mark, e.g. "p50 ≤ 25 ms ✓, ratio ≤ 1.5 ✗"."""
    target = shape.get("target", {})
    parts = []
    for key, label, check_label in (
            ("p50_ms", "p50 ≤ {} ms", "{} HTTP p50 <= {} ms"),
            ("p95_ms", "p95 ≤ {} ms", "{} HTTP p95 <= {} ms"),
            ("ratio", "ratio ≤ {}", "{} HTTP/SQL <= {}")):
        if key in target:
            ok = holds.get(check_label.format(name, target[key]))
            parts.append(label.format(target[key]) + (" ✓" if ok else " ✗"))
    return ", ".join(parts) or "–"


def update_readme(path, table):
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    block = f"{START}\n{table}\n{END}"
    if START in text and END in text:
        text = text[:text.index(START)] + block + text[text.index(END) + len(END):]
    else:
        text = text.rstrip() + "\n\n## Latest results\n\n" + block + "\n"
    path.write_text(text, encoding="utf-8")
