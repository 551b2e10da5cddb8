"""The `kefu` command: one typer app; each command group lives in its own module."""

from __future__ import annotations

import typer

from kefu.cli import (
    backtest_cmd,
    db_cmd,
    demo_cmd,
    faq_cmd,
    guide_cmd,
    import_cmd,
    insight_cmd,
    loadtest_cmd,
    replay_cmd,
    report_cmd,
    serve_cmd,
    simulate_cmd,
    token_cmd,
    traffic_cmd,
)

app = typer.Typer(
    name="kefu",
    help="kefu (客服): an open-source customer-service platform for e-commerce stores.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",  # reflows docstrings' wrapped lines (rich mode keeps them)
)


@app.callback()
def main() -> None:
    """kefu (客服): events in, actions out. Run `kefu COMMAND --help` for each command."""


for module in (
    replay_cmd,
    import_cmd,
    simulate_cmd,
    insight_cmd,
    db_cmd,
    serve_cmd,
    demo_cmd,
    backtest_cmd,
    guide_cmd,
    faq_cmd,
    token_cmd,
    report_cmd,
    traffic_cmd,
    loadtest_cmd,
):
    module.register(app)


if __name__ == "__main__":  # pragma: no cover
    app()
