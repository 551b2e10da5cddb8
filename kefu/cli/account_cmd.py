"""`kefu account`: password accounts from the command line (the first admin of a store)."""

from __future__ import annotations

import typer

from kefu.cli import common

err = common.err
account_app = typer.Typer(help="Password accounts: create the first admin, reset a password.",
                          no_args_is_help=True)  # fmt: skip

_DB = typer.Option(None, "--db", help="Database URL (default: $KEFU_DB or ./var/kefu.db).")


@account_app.command("create-admin")
def create_admin_command(
    store: str = typer.Option(..., "--store", help="The store (tenant); created if new."),
    login: str = typer.Option(..., "--login", help="E-mail address or phone to sign in with."),
    agent: str = typer.Option("admin", "--agent", help="The admin's agent id in the store."),
    password: str = typer.Option(
        ...,
        "--password",
        prompt=True,
        hide_input=True,
        confirmation_prompt=True,
        envvar="KEFU_ADMIN_PASSWORD",
        help="At least 8 characters (asked when not given; or $KEFU_ADMIN_PASSWORD).",
    ),
    db: str | None = _DB,
) -> None:
    """Create an admin who signs in to the web app with LOGIN and the password."""
    from kefu.accounts.manage import create_admin

    try:
        with common.migrated_transaction(db) as s:
            account = create_admin(s, store, agent, login, password)
            login_norm = account.login
    except ValueError as e:
        err.print(f"[red]{e}[/red]")
        raise typer.Exit(2) from None
    err.print(f"admin {agent} of store {store} created: sign in at /app/login as {login_norm}")


@account_app.command("reset-password")
def reset_password_command(
    login: str = typer.Option(..., "--login", help="The account's e-mail address or phone."),
    password: str = typer.Option(
        ...,
        "--password",
        prompt=True,
        hide_input=True,
        confirmation_prompt=True,
        envvar="KEFU_NEW_PASSWORD",
        help="The new password (asked when not given; or $KEFU_NEW_PASSWORD).",
    ),
    db: str | None = _DB,
) -> None:
    """Set a new password, unlock the account and end its web sessions."""
    from kefu.accounts.manage import audit
    from kefu.accounts.passwords import account_by_login, password_problem, set_password
    from kefu.accounts.tokens import revoke

    with common.migrated_transaction(db) as s:
        account = account_by_login(s, login)
        if account is None:
            err.print(f"[red]login: no account signs in with {login}[/red]")
            raise typer.Exit(2)
        problem = password_problem(password, account.login)
        if problem:
            err.print(f"[red]password: {problem}[/red]")
            raise typer.Exit(2)
        set_password(account, password)
        n = revoke(s, account.store, account.agent, kind="session")
        audit(s, account.store, "cli", account.agent, "password.reset", None,
              {"locked": False, "sessions_ended": n})  # fmt: skip
    err.print(f"password of {login} reset; {n} web session(s) ended")


def register(app: typer.Typer) -> None:
    """Add `kefu account create-admin` and `kefu account reset-password`."""
    app.add_typer(account_app, name="account")
