"""The form a mentee fills in to ask a mentor for mentoring (the rules live in services)."""
from flask_wtf import FlaskForm
from wtforms import SelectField, TextAreaField

from .. import vocab
from ..forms import choices, without_nul
from ..members.forms import CheckboxList
from .services import PROMPTS

EXAMPLES = {
    "help_wanted": "For example: “I lead a team of four for the first time and I am unsure how to give "
                   "feedback without sounding harsh.”",
    "success_looks_like": "For example: “Our weekly meeting runs itself, and I delegate a task a week "
                          "without checking on it every day.”",
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
