"""The forms a mentee fills in to ask a mentor for mentoring, and a mentor to offer it (the rules live in services)."""
from flask_wtf import FlaskForm
from wtforms import SelectField, TextAreaField

from .. import vocab
from ..forms import choices, without_nul
from ..members.forms import CheckboxList
from ..models import ConnectionRequest
from .services import PROMPTS, prompts_for

EXAMPLES = {
    "help_wanted": "For example: “I lead a team of four for the first time and I am unsure how to give "
                   "feedback without sounding harsh.”",
    "success_looks_like": "For example: “Our weekly meeting runs itself, and I delegate a task a week "
                          "without checking on it every day.”",
}
OFFER_EXAMPLES = {
    "help_wanted": "For example: “I led my first team three years ago and made most of the mistakes there are: "
                   "I can help you prepare your one-to-ones and give feedback that lands.”",
    "success_looks_like": "For example: “You run your weekly meeting with confidence, and each person on your "
                          "team has had honest feedback from you at least once.”",
}


class RequestForm(FlaskForm):
    topics = CheckboxList("Topics you would like help with", coerce=int,
                          invalid_choice_message="Choose among the topics this mentor offers.")
    help_wanted = TextAreaField(PROMPTS["help_wanted"], description=EXAMPLES["help_wanted"], filters=[without_nul])
    success_looks_like = TextAreaField(PROMPTS["success_looks_like"], description=EXAMPLES["success_looks_like"],
                                       filters=[without_nul])
    meeting_format = SelectField("How would you like to meet?", validate_choice=False,
                                 choices=choices([("", "Choose a way to meet"), *vocab.MEETING_FORMATS]))

    def __init__(self, *args, topics=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.topics.choices = choices((t.id, t.name) for t in topics)


class OfferForm(RequestForm):
    """The request form the other way round: a mentor offers, so the questions speak to the mentor.

    The topics the mentee seeks are marked, and ticked when the form opens.
    """

    def __init__(self, *args, mentee, topics=(), sought=frozenset(), **kwargs):
        super().__init__(*args, **kwargs)
        self.topics.label.text = f"Topics you could mentor {mentee.name} on"
        self.topics.invalid_choice_message = "Choose among the topics you offer."
        self.topics.choices = choices((t.id, f"{t.name} (sought by {mentee.name})" if t.id in sought else t.name)
                                      for t in topics)
        if not self.is_submitted():
            self.topics.data = [t.id for t in topics if t.id in sought]
        for name, question in prompts_for(ConnectionRequest.OFFER, mentee).items():
            self[name].label.text = question
            self[name].description = OFFER_EXAMPLES[name]
