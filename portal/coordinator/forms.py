from flask_wtf import FlaskForm
from wtforms import EmailField, SelectField, StringField
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
