"""CPU time a request of the concurrency mix costs, by process, through the service and on pgbench.

    .venv/bin/python benchmarks/cpu_split.py [--database-url URL] [--seconds 10] [--connections 64]

wrk and pgbench run one after the other, so on a shared machine their requests a second see
different background loads. The CPU time each request costs does not depend on that much: this
runs the mix of run.py's concurrency stage through gunicorn with wrk, summing the CPU time
(/proc, utime + stime) of the gunicorn workers, of their PostgreSQL backends
(application_name csat-service) and of wrk; then the same statements with pgbench, summing
its backends' and its own. On a machine the two share, requests a second follow the ratio of
the totals. Nothing is written; run.py's results are untouched.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]
# gunicorn would replace a worker midway (max_requests) and its CPU time would be lost.
os.environ["GUNICORN_MAX_REQUESTS"] = "0"

import load  # noqa: E402
import run  # noqa: E402
import service  # noqa: E402
import shapes as shape_defs  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    """utime + stime of a process, None when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return None
    return (int(fields[11]) + int(fields[12])) / TICKS


class CpuMeter(threading.Thread):
    """The CPU time the processes `pids()` names spend while it runs (sampled every 0.2 s)."""

    def __init__(self, pids):
        super().__init__(daemon=True)
        self.pids = pids
        self.first, self.last = {}, {}
        self.done = threading.Event()

    def run(self):
        while not self.done.is_set():
            self.sample()
            self.done.wait(0.2)

    def sample(self):
        for pid in self.pids():
            seconds = cpu_seconds(pid)
            if seconds is not None:
                self.first.setdefault(pid, seconds)
                self.last[pid] = seconds

    def stop(self):
        self.done.set()
        self.join()
        self.sample()
        return sum(self.last[pid] - self.first[pid] for pid in self.last)


def backends(conn, application_name):
    with conn.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE application_name = %s "
                       "AND datname = current_database()", (application_name,))
        return [row[0] for row in cursor.fetchall()]


def through_service(url, secret, token, paths, conn, seconds, connections, workdir):
    script = os.path.join(workdir, "mix.lua")
    with service.gunicorn(url, secret, os.path.join(workdir, "gunicorn.log")) as (host, port, master):
        load.run_wrk("wrk", f"http://{host}:{port}", paths, token, 16, 5, workdir)  # warm-up
        workers = service.worker_pids(master)
        Path(script).write_text(load.WRK_SCRIPT % {
            "paths": ", ".join(json.dumps(p) for p in paths), "auth": "Bearer " + token})
        wrk = subprocess.Popen(["wrk", "-t", "2", "-c", str(connections), "-d", f"{seconds}s",
                                "--timeout", "10s", "-s", script, f"http://{host}:{port}"],
                               stdout=subprocess.PIPE, text=True)
        meters = {"gunicorn workers": CpuMeter(lambda: workers),
                  "their PostgreSQL backends": CpuMeter(lambda: backends(conn, "csat-service")),
                  "wrk": CpuMeter(lambda: [wrk.pid])}
        for meter in meters.values():
            meter.start()
        output = wrk.communicate()[0]
        spent = {name: meter.stop() for name, meter in meters.items()}
    raw = json.loads(next(line for line in output.splitlines() if line.startswith("WRK_JSON "))[9:])
    if raw["non2xx"]:
        sys.exit(f"wrk: {raw['non2xx']} responses were not 2xx (is the database migrated? run.py migrates it)")
    return raw["requests"], raw["requests"] / (raw["duration_us"] / 1e6), spent


def on_pgbench(url, statements, paths, conn, seconds, connections, workdir):
    def mogrify(sql, params):
        with conn.cursor() as cursor:
            return cursor.mogrify(sql, params).decode()

    arguments = load.pgbench_scripts(workdir, statements, paths, mogrify)
    pgbench = subprocess.Popen(
        [load.find_pgbench(), "-n", "-c", str(connections), "-j", "2", "-T", str(seconds),
         *arguments, url], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=workdir,
        env=dict(os.environ, PGOPTIONS="-c jit=off -c TimeZone=UTC"))
    meters = {"PostgreSQL backends": CpuMeter(lambda: backends(conn, "pgbench")),
              "pgbench": CpuMeter(lambda: [pgbench.pid])}
    for meter in meters.values():
        meter.start()
    output, errors = pgbench.communicate()
    spent = {name: meter.stop() for name, meter in meters.items()}
    if pgbench.returncode != 0:
        sys.exit(f"pgbench failed: {errors.strip()[-300:]}")
    transactions = int(re.search(r"number of transactions actually processed: (\d+)", output).group(1))
    return transactions, transactions / seconds, spent


def report(tool, count, per_second, spent):
    per_request = {name: seconds * 1000 / count for name, seconds in spent.items()}
    parts = "  ".join(f"{name} {ms:.3f}" for name, ms in per_request.items())
    total = sum(per_request.values())
    print(f"{tool:8s} {per_second:7.1f}/s   CPU ms a request: {parts}  total {total:.3f}")
    return total


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", run.DEFAULT_URL))
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=64)
    options = parser.parse_args()
    url = options.database_url
    secret = service.new_secret()
    app = run.make_app(url, secret)
    with app.app_context():
        conn = app.extensions["csat_db"].pool("replica").connect()
    with conn.cursor() as cursor:
        cursor.execute("SET jit = off; SET TimeZone = 'UTC'")  # the service's settings, as run.py
    facts = shape_defs.data_facts(conn)
    token = service.make_token(secret, facts["admin_id"])
    shapes = shape_defs.build_shapes(facts)
    run.record_all(app, conn, [s for s in shapes if not s.fresh],
                   {"Authorization": "Bearer " + token}, {"concurrency"})
    paths, statements = run.mix(shapes)
    with tempfile.TemporaryDirectory(prefix="csat-cpu-") as workdir:
        service_total = report("wrk", *through_service(url, secret, token, paths, conn, options.seconds,
                                                       options.connections, workdir))
        pgbench_total = report("pgbench", *on_pgbench(url, statements, paths, conn, options.seconds,
                                                      options.connections, workdir))
    conn.close()
    print(f"pgbench's CPU a request / the service's: {pgbench_total / service_total:.2f} "
          f"(load average {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
