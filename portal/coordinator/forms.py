from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, SelectField, StringField
from wtforms.validators import DataRequired, Email, Length

from ..forms import choices, one_line, without_nul
from ..models import User


class InviteForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired("Enter the email address to invite."),
                                            Email("Enter an email address like name@example.org."), Length(max=254)])
    name = StringField("Name (optional)", filters=[one_line], validators=[Length(max=120)])
    role = SelectField("Role", choices=choices([(User.MEMBER, "Member"), (User.COORDINATOR, "Coordinator")]))


class TopicForm(FlaskForm):
    name = StringField("New topic", filters=[without_nul],
                       validators=[DataRequired("Enter the topic's name."),
                                   Length(max=60, message="Keep a topic under 60 characters.")])


class SettingsForm(FlaskForm):
    requests_need_review = BooleanField(
        "Requests need a coordinator’s review",
        description="When this is on, each new request waits in the review queue until a coordinator approves it; "
                    "only then does the mentor see it, and their 14 days to answer start. When it is off, new "
                    "requests go straight to the mentor. Turning it off does not let the waiting requests through: "
                    "they stay in the queue until a coordinator approves or declines them.")
