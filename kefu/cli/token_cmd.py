"""`kefu token`: staff API tokens and buyer widget tokens."""

from __future__ import annotations

import typer

from kefu.cli import common

err = common.err
token_app = typer.Typer(help="Create API tokens (staff) and widget tokens (buyers).",
                        no_args_is_help=True)  # fmt: skip

_DB = typer.Option(None, "--db", help="Database URL (default: $KEFU_DB or ./var/kefu.db).")


@token_app.command("create")
def create_command(
    store: str = typer.Option(..., "--store", help="The store (tenant) the token belongs to."),
    agent: str = typer.Option(..., "--agent", help="The agent (sub-account) id."),
    role: str = typer.Option("agent", "--role", help="agent, supervisor or admin."),
    label: str = typer.Option("", "--label", help="A note to tell tokens apart."),
    db: str | None = _DB,
) -> None:
    """Create a staff token; it is printed once (only its SHA-256 is stored)."""
    from kefu.accounts.tokens import ROLES, create_token

    if role not in ROLES:
        err.print(f"[red]--role must be one of {', '.join(ROLES)}[/red]")
        raise typer.Exit(2)
    with common.migrated_transaction(db) as s:
        token = create_token(s, store, agent, role, label)
    err.print(f"token for {agent} ({role}) of store {store} — shown once, keep it safe:")
    typer.echo(token)


@token_app.command("buyer")
def buyer_command(
    store: str = typer.Option(..., "--store", help="The store."),
    buyer: str = typer.Option(..., "--buyer", help="The buyer id."),
) -> None:
    """Print a signed widget token for one buyer (secret: $KEFU_SECRET or ./var/secret)."""
    from kefu.accounts.tokens import buyer_token

    typer.echo(buyer_token(store, buyer))


def register(app: typer.Typer) -> None:
    """Add `kefu token create` and `kefu token buyer`."""
    app.add_typer(token_app, name="token")
