# syntax=docker/dockerfile:1
# The CSAT service: gunicorn (gthread) serving app:create_app() on port 8000 as a non-root user.
#   docker build -t csat .
#   docker run --rm -e DATABASE_URL=... -e JWT_SECRET_KEY=... -p 8000:8000 csat
#   docker run --rm -e DATABASE_URL=... -e JWT_SECRET_KEY=... csat flask migrate
# Only runtime files and requirements.txt reach the image (.dockerignore lists them): no
# tests, benchmarks or dev dependencies.

# --- build: wheels for every pinned runtime dependency --------------------------------
FROM python:3.11-slim AS build
WORKDIR /build
COPY requirements.txt .
RUN pip wheel --no-cache-dir --wheel-dir /wheels -r requirements.txt

# --- runtime ---------------------------------------------------------------------------
FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    FLASK_APP=app \
    BIND=0.0.0.0:8000
WORKDIR /app

# Installed from the build stage's wheels only: the image needs no compiler or network.
COPY --from=build /wheels /wheels
COPY requirements.txt .
RUN pip install --no-cache-dir --no-index --find-links /wheels -r requirements.txt \
    && rm -rf /wheels \
    && useradd --system --uid 10001 --user-group --no-create-home --home-dir /nonexistent csat

COPY app.py gunicorn.conf.py ./
COPY csat/ csat/
COPY schemas/ schemas/
COPY sql/ sql/

USER 10001:10001
EXPOSE 8000
# Liveness only (no database): python's own urllib, since the slim image has no curl.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request; port = os.environ.get('BIND', '0.0.0.0:8000').rsplit(':', 1)[-1]; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:' + port + '/healthz', timeout=4).status == 200 else 1)"]
CMD ["gunicorn", "-c", "gunicorn.conf.py", "app:create_app()"]
