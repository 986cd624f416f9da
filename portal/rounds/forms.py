"""The forms of pairing rounds. They only read what was typed: the rules live in services."""
from flask_wtf import FlaskForm
from wtforms import BooleanField, DecimalField, StringField
from wtforms.validators import InputRequired, NumberRange

from ..forms import one_line
from ..matching import MAX_WEIGHT
from ..members.forms import TOPIC_CHOICE, CheckboxList, Count
from ..mentorships.forms import Day
from .services import MAX_CAPACITY, MAX_WEEKS, MIN_WEEKS, NAME_MAX


def _day(label, what):
    return Day(label, f"Enter the day {what} as year-month-day, for example 2027-03-01.")


class RoundForm(FlaskForm):
    name = StringField("Name", filters=[one_line], description="Members read it, for example “Spring 2027”.",
                       render_kw={"maxlength": NAME_MAX})
    opens_on = _day("Sign-ups open on", "sign-ups open")
    closes_on = _day("Sign-ups close on", "sign-ups close")
    starts_on = _day("Mentorships start on", "the mentorships start")
    length_weeks = Count("Planned length of the mentorships, in weeks", default=26,
                         invalid_value_message=f"Enter a whole number of weeks from {MIN_WEEKS} to {MAX_WEEKS}.",
                         render_kw={"min": MIN_WEEKS, "max": MAX_WEEKS})


class JoinForm(FlaskForm):
    as_mentor = BooleanField("I mentor in this round")
    capacity = Count("How many mentees I take in this round", default=1,
                     invalid_value_message=f"Enter a whole number from 1 to {MAX_CAPACITY}.",
                     render_kw={"min": 1, "max": MAX_CAPACITY})
    offers = CheckboxList("Topics I offer as a mentor", coerce=int, invalid_choice_message=TOPIC_CHOICE)
    as_mentee = BooleanField("I want to be mentored in this round")
    seeks = CheckboxList("Topics I want to be mentored on", coerce=int, invalid_choice_message=TOPIC_CHOICE)
    confirmed = BooleanField("My profile is up to date")


# --- reviewing a round: the matcher's weights ----------------------------------------------------

WEIGHT_LABELS = {"topics": "Shared topics", "seniority": "Seniority", "overlap": "Working-hours overlap",
                 "organization": "Different organization", "preference": "Preferred mentors"}


class Weight(DecimalField):
    """A number that says what to type, naming the field, when it is not one (what was typed is kept)."""

    def __init__(self, label=None, validators=None, invalid_value_message="", **kwargs):
        super().__init__(label, validators, places=None, **kwargs)
        self.invalid_value_message = invalid_value_message

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(self.invalid_value_message) from None


def _weight(name):
    label = WEIGHT_LABELS[name]
    message = f"Choose a weight for “{label}” from 0 (ignore it) to {MAX_WEIGHT}."
    return Weight(label, [InputRequired(message), NumberRange(0, MAX_WEIGHT, message)], invalid_value_message=message)


class WeightsForm(FlaskForm):
    """How much each part of the score counts in a round (1: the score as members see it)."""
    topics = _weight("topics")
    seniority = _weight("seniority")
    overlap = _weight("overlap")
    organization = _weight("organization")
    preference = _weight("preference")
