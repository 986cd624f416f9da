"""The notification settings form: one choice per kind the member sees, quiet hours, the digest hour."""
from flask_wtf import FlaskForm
from wtforms import RadioField, SelectField
from wtforms.validators import ValidationError

from ..forms import choices
from ..mentorships.forms import Clock
from .preferences import MODE_LABEL, Settings

HOURS = choices((str(hour), f"{hour:02d}:00") for hour in range(24))


class Mode(RadioField):
    """How to hear of one kind; a value the choice does not offer gets a message that names the options."""

    def pre_validate(self, form):
        if self.data not in [choice.value for choice in self.choices]:
            raise ValidationError("Choose one of: " + ", ".join(choice.label.lower() for choice in self.choices) + ".")


def _hour(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class Hour(SelectField):
    """An hour of the day from the list; anything else gets one message naming the field."""

    def pre_validate(self, form):
        if self.data not in range(24):
            raise ValidationError("Choose the hour of your digest from the list.")


class PreferencesForm(FlaskForm):
    quiet_from = Clock("From", "Enter the time as hours and minutes, such as 22:00.")
    quiet_until = Clock("Until", "Enter the time as hours and minutes, such as 07:00.")
    digest_hour = Hour("Send my daily digest at", choices=HOURS, coerce=_hour)

    def settings(self, keys):
        return Settings({key: self[key].data for key in keys}, self.quiet_from.data, self.quiet_until.data,
                        self.digest_hour.data)


def preferences_form(groups, settings, **kwargs):
    """The form for the choices of ``groups`` (``preferences.groups_for``), filled with ``settings``."""

    class Form(PreferencesForm):
        pass

    for _, entries in groups:
        for choice, label in entries:
            setattr(Form, choice.key, Mode(label, choices=choices((m, MODE_LABEL[m]) for m in choice.modes)))
    data = dict(settings.modes, quiet_from=settings.quiet_from, quiet_until=settings.quiet_until,
                digest_hour=settings.digest_hour)
    return Form(data=data, **kwargs)
