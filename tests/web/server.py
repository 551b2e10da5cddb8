"""A `kefu serve` process with the web app mounted, for the browser tests.

`python -m tests.web.server --db URL --port N [--config F]` builds the same app as
`kefu serve` (`create_app`) and mounts the web app on it (`mount_webapp`, which does nothing
when `create_app` already mounted it). Until `create_app` includes the hand-off report's
router, it is added here so the supervisor page can be tested against the real report.
"""

from __future__ import annotations

import argparse

import uvicorn

from kefu.server.app import create_app
from kefu.server.webapp import mount_webapp
from kefu.runtime.service import EngineService
from kefu.engine.settings import load_config
from kefu.storage.db import make_engine, upgrade


def main() -> None:
    """Parse the arguments and serve until terminated."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--config", default=None)
    args = ap.parse_args()
    engine = make_engine(args.db)
    upgrade(engine)
    service = EngineService(engine, load_config(args.config))
    app = create_app(service, tick_seconds=0.5)
    mount_webapp(app)
    paths = {getattr(r, "path", "") for r in app.routes}
    if "/api/v1/stores/{store}/reports/handoff" not in paths:
        try:
            from kefu.conversations import report_api
        except ImportError:
            pass
        else:
            app.include_router(report_api.router)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
