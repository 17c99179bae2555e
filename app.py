"""The CSAT service's application factory: `gunicorn app:app`, `flask migrate`, ..."""

from flask import Flask

from csat import auth, cli, cors, db, errors, metrics, openapi, request_log
from csat.config import Settings
from csat.json import OrjsonProvider
from csat.routes import health


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
    app.register_blueprint(health.bp)
    app.register_blueprint(openapi.bp)
    for blueprint in _csat_blueprints():
        app.register_blueprint(blueprint)
    return app


def _csat_blueprints():
    from csat.routes import agents
    from csat.routes import follow_ups
    from csat.routes import ratings
    from csat.routes import summary
    from csat.routes import themes

    return [agents.bp, follow_ups.bp, ratings.bp, summary.bp, themes.bp]


def __getattr__(name):
    """`app` is built on first access, so importing create_app needs no environment."""
    if name == "app":
        globals()["app"] = create_app()
        return globals()["app"]
    raise AttributeError(name)
