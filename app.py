"""The CSAT service's application factory: `gunicorn 'app:create_app()'`, `flask --app app migrate`."""

from flask import Flask

from csat import auth, cli, cors, db, errors, metrics, request_log
from csat.config import Settings
from csat.json import OrjsonProvider
from csat.routes import agents, api_docs, follow_ups, health, openapi, ratings, summary, themes
from csat.routes import metrics as metrics_route

BLUEPRINTS = (health.bp, metrics_route.bp, openapi.bp, api_docs.bp, agents.bp, follow_ups.bp,
              ratings.bp, summary.bp, themes.bp)


def create_app(settings: Settings | None = None) -> Flask:
    app = Flask(__name__)
    app.config["CSAT"] = settings or Settings.from_env()
    app.config["MAX_CONTENT_LENGTH"] = app.config["CSAT"].max_body_bytes
    app.json = OrjsonProvider(app)

    request_log.init_app(app)
    metrics.init_app(app)
    errors.init_app(app)
    cors.init_app(app)
    db.init_app(app)
    auth.init_app(app)
    cli.init_app(app)
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
    return app
