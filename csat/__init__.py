"""The CSAT service: ratings, follow-ups and exports for the admin panel.

Where things are (imports go down this list, never up; tests/test_layout.py checks it):

    app.py               the application factory, create_app(): wires everything below
    csat/routes/         the blueprints, one module per resource; a handler parses its
                         arguments, calls ONE query (or the export), shapes the response
        ratings.py       GET /csat (page or report), /csat/{id}, /csat/ticket/{ticketId}
        summary.py       GET /csat/summary
        themes.py        GET /csat/themes
        follow_ups.py    POST/PUT /csat/comments, GET /csat/{id}/follow-ups
        agents.py        GET /csat/agents/list
        health.py        GET /healthz, /readyz
        metrics.py       GET /metrics
        openapi.py       GET /csat/openapi.json
    csat/parsing/        what routes read from a request: the list filters
                         (rating_filters.py) and JSON bodies (bodies.py)
    csat/exports/        GET /csat?report=true, streamed: engine.py (transaction, body,
                         life of an export), copy_rows.py (COPY reading), prefetch.py
                         (read-ahead thread), one module per format: json.py, csv.py, xlsx.py
    csat/openapi.py      the OpenAPI document, built from the routes and their schemas
    csat/queries/        query functions: explicit parameters in, rows or bodies out, any
                         cache inside them (ratings, summary, themes, follow_ups, agents,
                         health), and what they build on: filtered_counts.py and
                         remembered.py (answers remembered in PostgreSQL), versioned_cache.py
                         (bodies remembered per worker), summary_change.py (the z-test)
    csat/*.py            infrastructure, used by all of the above:
        config.py        Settings from the environment
        db.py            the pools, the SQL loader, fetch_one/fetch_all/execute
        db_failures.py   which psycopg2 errors mean the database failed
        replica.py       whether the read replica may serve reads
        errors.py        ApiError and the one place failures become Boom JSON
        auth.py          tokens to admins, permissions, locale limits
        json.py          orjson as Flask's JSON provider
        request_log.py   request ids and the JSON log
        metrics.py       Prometheus metrics
        cors.py          CORS_ORIGINS
        gunicorn_worker.py  gunicorn's own refusals in Boom JSON
        cli.py           flask migrate / seed / token
        migrations.py    applying sql/migrations/
        seed.py          deterministic demo data (sql/seed/)
    schemas/             marshmallow schemas of what endpoints accept and return
    sql/                 one query per file, runnable with psql; migrations/; seed/
"""
