"""Command-line commands: ``flask --app portal create-user | seed-demo | send-reminders``."""
import click
from email_validator import EmailNotValidError, validate_email

from . import audit, demo
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
        audit.record(None, "member.created", f"user:{user.id}", f"{user.role}, from the command line")
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
    if done.invitations:
        line += f", {done.invitations} invitation email{'s' if done.invitations != 1 else ''} enqueued"
    if done.not_enqueued:
        line += f", {done.not_enqueued} left for the next sweep (the broker did not answer)"
    click.echo(line + ".")


@click.command("import-members")
@click.argument("csv_file", type=click.File("rb"))
@click.option("--dry-run", is_flag=True, help="Only print what would happen to each row; write nothing.")
@click.option("--role", type=click.Choice(User.ROLES), default=User.MEMBER, show_default=True,
              help="The role of the rows whose role column is empty.")
def import_members_command(csv_file, dry_run, role):
    """Invite the members of a CSV file (header email,name,role), as the members page does: every row
    is reported; nothing is written when any row is invalid. Exit code 1 then."""
    from .coordinator import imports
    from .coordinator.services import CoordinatorError

    with database.connection_context():
        try:
            entries = imports.read_csv(imports.decode(csv_file.read(imports.MAX_BYTES + 1)))
            if dry_run:
                preview = imports.check(entries, role)
            else:
                preview = imports.invite_all(None, entries, role, strict=True)
        except imports.ImportRefused as refused:
            _report(refused.preview)
            raise click.ClickException(str(refused)) from refused
        except CoordinatorError as error:
            raise click.ClickException(str(error)) from error
    _report(preview)
    counts = (f"{len(preview.duplicates)} duplicate{'s' if len(preview.duplicates) != 1 else ''}, "
              f"{len(preview.invalid)} invalid")
    if dry_run:
        click.echo(f"Dry run: {len(preview.to_invite)} would be invited, {counts}. Nothing was written.")
        if preview.invalid:
            raise click.exceptions.Exit(1)
    else:
        import jobs

        jobs.drain()  # the embedded default sends them from this process: return when they are out
        click.echo(f"Invited {len(preview.created)}, {counts}.")


def _report(preview):
    for entry in preview.entries:
        done = "invited" if preview.created else "will be invited"
        result = done if entry.status == "invite" else f"{entry.status}: {entry.reason}"
        click.echo(f"line {entry.line}: {entry.email or '(no email)'}: {result}")


def init_app(app):
    app.cli.add_command(create_user_command)
    app.cli.add_command(seed_demo_command)
    app.cli.add_command(send_reminders_command)
    app.cli.add_command(import_members_command)
