"""`kefu openapi`: write the HTTP API's OpenAPI document without starting a server."""

from __future__ import annotations

from pathlib import Path

import typer

from kefu.cli import common

err = common.err


def openapi_command(
    out: Path | None = typer.Argument(
        None, help="File to write (default: standard output); left alone when unchanged."
    ),
) -> None:
    """Write the OpenAPI document of the REST API (what /openapi.json serves)."""
    from kefu.server import openapi

    if out is None:
        typer.echo(openapi.render(openapi.document()), nl=False)
        return
    changed = openapi.write(out)
    err.print(f"{out}: {'written' if changed else 'unchanged'}")


def register(app: typer.Typer) -> None:
    """Add `kefu openapi`."""
    app.command("openapi")(openapi_command)
