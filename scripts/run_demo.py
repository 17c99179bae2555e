"""`make run`: the service on port 8000 with demo data, ready to call.

Without DATABASE_URL it starts an embedded PostgreSQL (pgserver) under var/pgdata that
outlives this process, so the next run finds its data. It migrates, seeds demo data once,
prints a curl line with a fresh token, and replaces itself with gunicorn.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEMO_RATINGS = int(os.environ.get("DEMO_RATINGS", "100000"))
PORT = os.environ.get("PORT", "8000")


def embedded_database_url():
    import pgserver

    data_dir = ROOT / "var" / "pgdata"
    data_dir.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(data_dir, cleanup_mode=None)  # keeps running after exec
    return server.get_uri()


def flask(*args, env):
    subprocess.run([sys.executable, "-m", "flask", "--app", "app", *args], cwd=ROOT, env=env, check=True)


def main():
    env = dict(os.environ)
    if not env.get("DATABASE_URL"):
        env["DATABASE_URL"] = embedded_database_url()
        print(f"embedded PostgreSQL: {env['DATABASE_URL']}")
    if not env.get("JWT_SECRET_KEY"):
        env.setdefault("CSAT_ENV", "development")
        env["JWT_SECRET_KEY"] = "dev-secret-change-me"
    flask("migrate", env=env)
    flask("seed", "--ratings", str(DEMO_RATINGS), "--if-empty", env=env)
    token = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", "token", "--admin", "1", "--permissions",
         "menu-csat,company-request-view,csat-add-comments,csat-update-comments",
         "--expires-in", "86400"],
        cwd=ROOT, env=env, check=True, capture_output=True, text=True,
    ).stdout.strip()
    print("\nThe service is starting on http://127.0.0.1:%s. Try:\n" % PORT)
    print(f"  curl -s -H 'Authorization: Bearer {token}' 'http://127.0.0.1:{PORT}/csat?length=2'\n",
          flush=True)
    env.setdefault("BIND", f"0.0.0.0:{PORT}")
    gunicorn = shutil.which("gunicorn", path=str(Path(sys.executable).parent)) or "gunicorn"
    os.chdir(ROOT)
    os.execve(gunicorn, [gunicorn, "-c", "gunicorn.conf.py", "app:create_app()"], env)


if __name__ == "__main__":
    main()
