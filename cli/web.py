"""``intake review serve`` and ``intake staff add NAME``: the review page's commands."""

from __future__ import annotations

import click

from cli import loader
from cli.errors import Group
from templates import say, text


@click.group(cls=Group)
def review() -> None:
    """The staff review web page."""


@review.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--secure-cookies", is_flag=True, help="Mark the session cookie Secure (behind HTTPS).")
def serve(host: str, port: int, secure_cookies: bool) -> None:
    """Serve the review page (put it behind HTTPS when it leaves this machine)."""
    import uvicorn

    from review.app import create_app

    settings = loader.settings()
    profile = loader.profile(settings)
    app = create_app(settings, profile=profile, engine=loader.ledger(settings), secure_cookies=secure_cookies)
    click.echo(say("cli.serve.listening", host=host, port=port))
    uvicorn.run(app, host=host, port=port, log_level="warning", proxy_headers=False)


@click.group(cls=Group)
def staff() -> None:
    """Staff accounts of the review page."""


@staff.command("add")
@click.argument("name")
@click.password_option("--password", prompt=text("cli.staff.password"),
                       confirmation_prompt=text("cli.staff.password.again"),
                       help="Read from a prompt when not given.")
def add(name: str, password: str) -> None:
    """Create the account NAME, or set its new password (its open sessions end)."""
    from review.auth import add_staff

    member = add_staff(loader.ledger(loader.settings()), name, password)  # StaffError: cli.errors
    click.echo(say("cli.staff.saved", name=member.name))
