"""What other capabilities and the server use of insight: the process's roll-ups."""

from __future__ import annotations

from typing import Any

from kefu.insight.rollup import Rollups


def rollups_of(request: Any) -> Rollups:
    """The app's roll-ups (`app.state.insight_rollups`), made on first use from the service:
    one per process, so followers stay warm between reports."""
    state = request.app.state
    found: Rollups | None = getattr(state, "insight_rollups", None)
    if found is None:
        service = state.service
        found = Rollups(service.db, service.config)
        state.insight_rollups = found
    return found
