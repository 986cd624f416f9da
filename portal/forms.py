"""Shared form pieces: time zone choices and field validators."""
import unicodedata
from zoneinfo import available_timezones

from wtforms.fields.choices import SelectChoice
from wtforms.validators import ValidationError


def refuse_on_field(form, error):
    """A service's refusal on the form field it names (what was typed stays), else above the form.
    ``error`` is any of the domain errors: a ``message`` (or its text) and a ``field``."""
    message = getattr(error, "message", None) or str(error)
    field = getattr(error, "field", None)
    if field and field in form:
        form[field].errors = [*form[field].errors, message]
    else:
        form.form_errors.append(message)


def choices(pairs):
    """(value, label) pairs as WTForms choices."""
    return [SelectChoice(value, label) for value, label in pairs]


def time_zone_choices():
    return choices((name, name.replace("_", " ")) for name in _zones())


_ZONES = None


def _zones():
    global _ZONES
    if _ZONES is None:
        _ZONES = sorted(
            z for z in available_timezones()
            if "/" in z and not z.startswith(("Etc/", "SystemV/", "US/", "posix/", "right/"))
        ) + ["UTC"]
    return _ZONES


def valid_time_zone(form, field):
    if field.data not in set(_zones()):
        raise ValidationError("Choose a time zone from the list, such as Europe/Berlin.")


def without_nul(value):
    """A field filter: drops NUL characters, which nobody means to type and PostgreSQL cannot store."""
    return value.replace("\x00", "") if isinstance(value, str) else value


def one_line(value):
    """A field filter for names: one line, control characters (line breaks, tabs) made spaces.

    A name also goes into mail headers, where a line break would end the header.
    """
    if not isinstance(value, str):
        return value
    return "".join(" " if unicodedata.category(c) == "Cc" else c for c in without_nul(value))
