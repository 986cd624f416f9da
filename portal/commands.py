"""Command-line commands: ``flask --app portal create-user | seed-demo``."""
import click
from email_validator import EmailNotValidError, validate_email

from . import demo
from .auth import services as accounts
from .db import database
from .models import User


@click.command("create-user")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--role", type=click.Choice(User.ROLES), default=User.MEMBER, show_default=True)
@click.option("--password", help="Prompted for (hidden) when not given.")
def create_user_command(email, name, role, password):
    """Create an account that can log in at once."""
    if password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        email = validate_email(email, check_deliverability=False).normalized
    except EmailNotValidError as error:
        raise click.BadParameter(str(error), param_hint="--email") from error
    problem = accounts.password_problem(password, email)
    if problem:
        raise click.BadParameter(problem, param_hint="--password")
    with database.connection_context():
        try:
            user = accounts.create_user(email, name, role=role, password=password)
        except accounts.AccountError as error:
            raise click.ClickException(str(error)) from error
    click.echo(f"Created {user.role} {user.email}.")


@click.command("seed-demo")
@click.option("--members", default=200, show_default=True, help="How many demo members.")
def seed_demo_command(members):
    """Load a realistic demo program (once; running it again adds nothing)."""
    demo.seed(members, echo=click.echo)
    with database.connection_context():
        click.echo(f"Demo logins (password: {demo.DEMO_PASSWORD}):")
        for label, email in demo.logins():
            click.echo(f"  {label:28} {email}")


def init_app(app):
    app.cli.add_command(create_user_command)
    app.cli.add_command(seed_demo_command)
