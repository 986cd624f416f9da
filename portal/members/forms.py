"""Profile forms: one class per wizard step; the edit page uses all of them."""
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    Form,
    IntegerField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, StopValidation, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from .. import vocab
from ..forms import choices, one_line, time_zone_choices, valid_time_zone, without_nul

MAX_CAPACITY = 10
TOPIC_CHOICE = "Choose topics from the list."


class CheckboxList(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class Count(IntegerField):
    """A small whole number: left empty it counts as 0, and text that is no number gets one clear message."""

    def process_formdata(self, valuelist):
        if valuelist and not valuelist[0].strip():
            self.data = 0
        else:
            super().process_formdata(valuelist)

    def pre_validate(self, form):
        if self.process_errors:
            raise StopValidation()


def _choice(label):
    return [("", f"Choose {label}")]


def _options(*groups):
    return choices(pair for group in groups for pair in group)


class _ProfileStep(FlaskForm):
    class Meta:
        def bind_field(self, form, unbound_field, options):
            # Every text field of the profile drops NUL characters before it is checked.
            if issubclass(unbound_field.field_class, StringField):
                options = dict(options, filters=[*unbound_field.kwargs.get("filters", ()), without_nul])
            return unbound_field.bind(form=form, **options)


class AboutForm(_ProfileStep):
    name = StringField("Name", filters=[one_line], validators=[DataRequired("Enter your name."), Length(max=120, message="Keep your name under 120 characters.")])
    headline = StringField("Headline", description="One line others see first, such as “Product lead who loves first-time managers”.",
                           validators=[Length(max=140, message="Keep the headline under 140 characters.")])
    bio = TextAreaField("About you", description="A few sentences. Markdown works: *emphasis*, lists and links.",
                        validators=[Length(max=5000, message="Keep this under 5,000 characters.")])
    organization = StringField("Organization", validators=[DataRequired("Enter your organization, or “Independent”."), Length(max=120, message="Keep the organization under 120 characters.")])
    job_title = StringField("Job title", validators=[Length(max=120, message="Keep the job title under 120 characters.")])
    job_level = SelectField("Job level", choices=_options(_choice("a level"), vocab.JOB_LEVELS),
                            invalid_choice_message="Choose a job level from the list.",
                            validators=[DataRequired("Choose your job level.")])
    industry = SelectField("Industry or practice area", choices=_options(_choice("an industry"), vocab.INDUSTRIES),
                           invalid_choice_message="Choose an industry or practice area from the list.",
                           validators=[DataRequired("Choose your industry or practice area.")])
    country = SelectField("Country", invalid_choice_message="Choose a country from the list.",
                          validators=[DataRequired("Choose the country you work in.")])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.country.choices = _options(_choice("a country"), vocab.countries())


class OffersForm(_ProfileStep):
    offers_mentoring = BooleanField("I offer mentoring")
    offered_topics = CheckboxList("Topics I can mentor on", coerce=int, invalid_choice_message=TOPIC_CHOICE)
    suggested_offer = StringField("Suggest another topic", description="Coordinators add it to the list for everyone.",
                                  validators=[Length(max=60, message="Keep a topic under 60 characters.")])
    capacity = Count("How many mentees at once", default=1,
                     invalid_value_message=f"Enter a whole number from 0 to {MAX_CAPACITY}.", validators=[
                         NumberRange(min=0, max=MAX_CAPACITY, message=f"Choose a number from 0 to {MAX_CAPACITY}.")])

    def validate_offered_topics(self, field):
        if self.offers_mentoring.data and not field.data and not (self.suggested_offer.data or "").strip():
            raise ValidationError("Choose at least one topic you can mentor on, or suggest one.")

    def validate_capacity(self, field):
        if self.offers_mentoring.data and not field.data:
            raise ValidationError("Say how many mentees you can take at once (at least 1).")


class SeeksForm(_ProfileStep):
    seeks_mentoring = BooleanField("I am looking for a mentor")
    sought_topics = CheckboxList("Topics I want to learn about", coerce=int, invalid_choice_message=TOPIC_CHOICE)
    suggested_seek = StringField("Suggest another topic", validators=[Length(max=60, message="Keep a topic under 60 characters.")])

    def validate_sought_topics(self, field):
        if self.seeks_mentoring.data and not field.data and not (self.suggested_seek.data or "").strip():
            raise ValidationError("Choose at least one topic you want to learn about, or suggest one.")


class PracticalForm(_ProfileStep):
    time_zone = SelectField("Time zone", validate_choice=False, validators=[valid_time_zone])
    languages = CheckboxList("Languages you can mentor or be mentored in", invalid_choice_message="Choose languages from the list.",
                             validators=[InputRequired("Choose at least one language.")])
    meeting_formats = CheckboxList("Ways you like to meet", choices=choices(vocab.MEETING_FORMATS),
                                   invalid_choice_message="Choose ways to meet from the list.",
                                   validators=[InputRequired("Choose at least one way to meet.")])
    availability_note = TextAreaField("Availability", description="For example: “Tuesday and Thursday evenings, two calls a month”.",
                                      validators=[Length(max=500, message="Keep this under 500 characters.")])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.time_zone.choices = time_zone_choices()
        self.languages.choices = choices(vocab.languages())


class AwayDate(DateField):
    """A day (the browser's date picker sends 2025-06-30); anything else gets one clear message, and stays typed."""

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError("Enter the day you are back as a date, such as 2025-06-30, "
                             "or leave it empty.") from None


class ProfileForm(AboutForm, OffersForm, SeeksForm, PracticalForm):
    """The whole profile on one page (offering, seeking or both: services.save_profile checks)."""
    away_until = AwayDate("Away until", validators=[Optional()],
                          description="The day you are back. Until then you are not listed when members look for "
                                      "a mentor, and new requests wait for your return: their 14 days start that "
                                      "day. Leave it empty when you are here.")


STEP_FORMS = {1: AboutForm, 2: OffersForm, 3: SeeksForm, 4: PracticalForm}


class BrowseForm(Form):
    """The filters of /mentors and /mentees, read from the query string (no CSRF: a GET that changes nothing)."""

    q = StringField("Search", validators=[Optional(), Length(max=100)])
    topic = SelectField("Topic", coerce=lambda v: int(v) if v not in (None, "") else None, validate_choice=False)
    level = SelectField("Job level", choices=_options([("", "Any level")], vocab.JOB_LEVELS), validate_choice=False)
    industry = SelectField("Industry", choices=_options([("", "Any industry")], vocab.INDUSTRIES), validate_choice=False)
    region = SelectField("Region", choices=_options([("", "Anywhere")], vocab.REGIONS), validate_choice=False)
    language = SelectField("Language", validate_choice=False)
    overlap = BooleanField("Overlaps my working hours")
    show_full = BooleanField("Show mentors with no free place")
    sort = SelectField("Sort", choices=choices([("match", "Best match for me"), ("name", "Name"), ("recent", "Recently active")]),
                       validate_choice=False)
    page = IntegerField("Page", default=1, validators=[Optional()])

    def __init__(self, formdata, topics):
        super().__init__(formdata)
        self.topic.choices = _options([("", "Any topic")], [(t.id, t.name) for t in topics])
        self.language.choices = _options([("", "Any language")], vocab.languages())

    def filters(self):
        """The filters as the service takes them; unknown values count as "any"."""
        from .services import BrowseFilters

        def known(field):
            values = {str(choice.value) for choice in field.choices}
            return field.data if str(field.data) in values else field.choices[0].value

        try:
            page = int(self.page.raw_data[0]) if self.page.raw_data else 1
        except (TypeError, ValueError):
            page = 1
        return BrowseFilters(
            # NUL is no text anyone types, and PostgreSQL refuses it in a query.
            q=(self.q.data or "").replace("\x00", "").strip()[:100], topic=known(self.topic) or None,
            level=known(self.level), industry=known(self.industry), region=known(self.region),
            language=known(self.language),
            overlap=bool(self.overlap.data), show_full=bool(self.show_full.data),
            sort=known(self.sort) or "match", page=page,
        )


class DeleteAccountForm(FlaskForm):
    password = PasswordField("Your password", description="To make sure it is you who asks.",
                             validators=[DataRequired("Enter your password to confirm.")])
