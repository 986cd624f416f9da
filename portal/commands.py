"""Command-line commands: ``flask --app portal create-user | seed-demo | send-reminders``."""
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


@click.command("send-reminders")
def send_reminders_command():
    """One reminder sweep now, as the scheduler runs every minute (for cron and tests).

    With Redis the deliveries go to the workers; in the embedded default they run in this
    process, and the command returns when they are done.
    """
    import jobs
    from .notifications import sweep

    with database.connection_context():
        done = sweep.sweep()
    jobs.drain()
    line = (f"{done.expired} requests expired, {done.reminded} reminders written, "
            f"{len(done.enqueued)} deliveries enqueued")
    if done.not_enqueued:
        line += f", {done.not_enqueued} left for the next sweep (the broker did not answer)"
    click.echo(line + ".")


def init_app(app):
    app.cli.add_command(create_user_command)
    app.cli.add_command(seed_demo_command)
    app.cli.add_command(send_reminders_command)
