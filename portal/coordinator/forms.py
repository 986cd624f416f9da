from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, EmailField, HiddenField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import AnyOf, DataRequired, Email, Length

from ..forms import choices, one_line, without_nul
from ..mentorships.services import END_REASONS
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


# --- members: inviting many at once (issue 7) --------------------------------------

class ImportForm(FlaskForm):
    """Pasted addresses or a CSV file; the view reads whichever was given (the file when both were)."""
    emails = TextAreaField("Paste email addresses", filters=[without_nul],
                           description="One per line, or separated by commas or semicolons; “Name <email>” "
                                       "keeps the name.")
    file = FileField("Or upload a CSV file", description="UTF-8, with the header email,name,role; columns separated "
                                                         "by commas or semicolons; name and role may stay empty.")
    role = SelectField("Role for those without one",
                       choices=choices([(User.MEMBER, "Member"), (User.COORDINATOR, "Coordinator")]))


class ConfirmImportForm(FlaskForm):
    """The previewed list, carried back as it was read, and what the preview said it would write."""
    source = TextAreaField("The list", filters=[without_nul])
    kind = HiddenField(validators=[AnyOf(("csv", "paste"))])
    role = HiddenField(validators=[AnyOf(User.ROLES)])
    expected = HiddenField()


# --- pairs: ending a pair (issue 7) ---------------------------------------------------

class EndPairForm(FlaskForm):
    reason = RadioField("Why does the pair end?", choices=choices(END_REASONS), validate_choice=False)
    note = TextAreaField("Your note to both partners", filters=[without_nul],
                         description="Both partners read it in the email that tells them, and it is kept in the "
                                     "audit log.")
