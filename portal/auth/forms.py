from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length, ValidationError

from ..forms import one_line, valid_time_zone

EMAIL = [DataRequired("Enter your email address."), Email("Enter an email address like name@example.org."),
         Length(max=254)]
NEW_PASSWORD = [DataRequired("Choose a password."), Length(max=200)]
# Shown under every new-password field; the rule itself lives in services.password_problem.
PASSWORD_HELP = "At least 10 characters. A short sentence is easy to remember and hard to guess."
CONFIRM = [DataRequired("Type the password again."), EqualTo("password", "The two passwords are not the same.")]


def known_zone_or_utc(form, field):
    """The browser fills in the hidden zone, so a person cannot fix it: keep UTC (the wizard asks)."""
    try:
        valid_time_zone(form, field)
    except ValidationError:
        field.data = "UTC"


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=EMAIL)
    password = PasswordField("Password", validators=[DataRequired("Enter your password.")])
    remember = BooleanField("Keep me logged in on this device")


class AcceptInvitationForm(FlaskForm):
    name = StringField("Your name", filters=[one_line], validators=[DataRequired("Enter your name."), Length(max=120)])
    password = PasswordField("Choose a password", description=PASSWORD_HELP, validators=NEW_PASSWORD)
    confirm = PasswordField("Password again", validators=CONFIRM)
    time_zone = HiddenField(default="UTC", validators=[known_zone_or_utc])


class RegisterForm(AcceptInvitationForm):
    email = EmailField("Work email", validators=EMAIL)


class ResetRequestForm(FlaskForm):
    email = EmailField("Email", validators=EMAIL)


class ResetPasswordForm(FlaskForm):
    password = PasswordField("New password", description=PASSWORD_HELP, validators=NEW_PASSWORD)
    confirm = PasswordField("New password again", validators=CONFIRM)


class ChangePasswordForm(ResetPasswordForm):
    current_password = PasswordField("Current password", validators=[DataRequired("Enter your current password.")])
