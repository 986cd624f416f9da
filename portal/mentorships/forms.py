"""The forms of the pair's space. They only read what was typed: every rule lives in services."""
import datetime as dt

from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, RadioField, SelectField, StringField, TextAreaField, TimeField

from ..forms import choices, one_line, without_nul
from ..members.forms import CheckboxList
from ..models import Feedback, Meeting
from . import times
from .services import DURATIONS, END_REASONS, FORMAT_LABEL


class Day(DateField):
    """A date from ``<input type="date">``: left empty it is None, anything else that is no date gets
    one message naming the field."""

    def __init__(self, label, message, **kwargs):
        super().__init__(label, **kwargs)
        self.message = message

    def process_formdata(self, valuelist):
        text = valuelist[0].strip() if valuelist else ""
        self.raw_data = [text]
        if not text:
            self.data = None
            return
        try:
            self.data = dt.date.fromisoformat(text)
        except ValueError:
            self.data = None
            raise ValueError(self.message) from None


class GoalsForm(FlaskForm):
    goals = TextAreaField("Our goals", id="goals-text", filters=[without_nul],
                          description="What you work toward together. Markdown works: *emphasis*, lists and links.")


class MilestoneForm(FlaskForm):
    title = StringField("Milestone", filters=[one_line])
    due_on = Day("Due on (optional)", "Enter the due date as a date, such as 2026-04-30, or leave it empty.")


class EndForm(FlaskForm):
    reason = RadioField("Why does the mentorship end?", choices=choices(END_REASONS), validate_choice=False)
    reflection = TextAreaField("Your closing reflection", filters=[without_nul],
                               description="What went well, what you take with you. Your partner and the "
                                           "coordinators read it; needed when the reason is “Other”.")
    stay_in_touch = BooleanField("I would like to stay in touch")


class ReflectionForm(FlaskForm):
    reflection = TextAreaField("Your closing reflection", filters=[without_nul],
                               description="Your partner and the coordinators read it.")


# --- meetings ---

DURATION_CHOICES = choices((str(minutes), times.duration(minutes)) for minutes in DURATIONS)


class Clock(TimeField):
    """A time of day from ``<input type="time">``: left empty it is None, anything else that is no
    time gets one message naming the field."""

    def __init__(self, label, message, **kwargs):
        super().__init__(label, **kwargs)
        self.message = message

    def process_formdata(self, valuelist):
        text = valuelist[0].strip() if valuelist else ""
        self.raw_data = [text]
        self.data = None
        if text:
            try:
                self.data = dt.time.fromisoformat(text).replace(second=0, microsecond=0)
            except ValueError:
                raise ValueError(self.message) from None


class MeetingForm(FlaskForm):
    """Schedule or move a meeting: the date and time in the zone of the member who types them."""
    date = Day("Date", "Enter the date as a date, such as 2027-03-16.")
    time = Clock("Starts at", "Enter the time as hours and minutes, such as 14:30.")
    duration = SelectField("Duration", choices=DURATION_CHOICES, default="60", validate_choice=False)
    format = RadioField("How you meet", choices=choices((code, FORMAT_LABEL[code]) for code in Meeting.FORMATS),
                        default=Meeting.VIDEO, validate_choice=False)
    link = StringField("Video link", filters=[one_line], description="For a video call: the address of the call, "
                                                                     "such as https://meet.example.org/ana-mel.")
    place = StringField("Place", filters=[one_line],
                        description="For a meeting in person: where. For a phone call: who calls whom (optional).")
    agenda = TextAreaField("Agenda", filters=[without_nul],
                           description="What you would like to talk about. You both see it, and so does the "
                                       "calendar invitation.")


class LogForm(FlaskForm):
    """Log a held meeting; the private note is its author's alone."""
    held_on = Day("Held on", "Enter the date as a date, such as 2027-03-16.")
    duration = SelectField("Duration", choices=DURATION_CHOICES, default="60", validate_choice=False)
    topics = CheckboxList("Topics covered", validate_choice=False)
    notes = TextAreaField("Shared notes", filters=[without_nul],
                          description="What you talked about. Your partner reads them too. Markdown works: "
                                      "*emphasis*, lists and links.")
    next_steps = TextAreaField("Next steps", filters=[without_nul],
                               description="What each of you does next. Your partner reads them too.")
    private_note = TextAreaField("Private note: only you will ever see this", filters=[without_nul],
                                 description="Not your partner, not the coordinators: nobody but you.")

    def __init__(self, *args, topics=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.topics.choices = choices((str(t.id), t.name) for t in topics)


class NoteForm(FlaskForm):
    private_note = TextAreaField("Private note: only you will ever see this", filters=[without_nul],
                                 description="Not your partner, not the coordinators: nobody but you. "
                                             "Leave it empty to delete it.")


class FeedbackForm(FlaskForm):
    rating = RadioField("How useful was this meeting for you?", validate_choice=False,
                        choices=choices([("1", "1 · not useful"), ("2", "2"), ("3", "3"), ("4", "4"),
                                         ("5", "5 · very useful")]))
    most_useful = TextAreaField("What was most useful?", filters=[without_nul])
    visibility = RadioField("Who may read your feedback?", default=Feedback.PARTNER, validate_choice=False,
                            choices=choices([(Feedback.PARTNER, "Share with my partner"),
                                             (Feedback.COORDINATORS, "Coordinators only")]),
                            description="“Coordinators only” keeps it from your partner altogether: they do "
                                        "not even learn that you gave feedback.")
    good_fit = RadioField("Is this a good fit?", validate_choice=False,
                          choices=choices([("yes", "Yes"), ("no", "No: I would like a coordinator to help")]),
                          description="Only the coordinators read your answer.")


class CheckInForm(FlaskForm):
    score = RadioField("How is your mentorship going?", validate_choice=False,
                       choices=choices([("1", "1 · not well"), ("2", "2"), ("3", "3"), ("4", "4"),
                                        ("5", "5 · very well")]))
    comment = TextAreaField("Anything to add? (optional)", filters=[without_nul],
                            description="Only the coordinators read your score and comment; your partner does not.")
