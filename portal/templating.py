"""Rendering helpers: whole page or one block for htmx, Markdown, local times."""
import datetime as dt
from zoneinfo import ZoneInfo

import nh3
from flask import render_template, request
from jinja2_fragments.flask import render_block
from markdown_it import MarkdownIt
from markupsafe import Markup

from . import vocab

_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
_ALLOWED_TAGS = {
    "p", "br", "strong", "em", "a", "ul", "ol", "li", "blockquote", "code", "pre",
    "h3", "h4", "h5", "h6", "hr",
}


def markdown(text):
    """Member-written Markdown as safe HTML: raw HTML is escaped, then sanitised."""
    html = _markdown.render(text or "")
    # Headings of member text never outrank the page's own.
    for level in ("1", "2"):
        html = html.replace(f"<h{level}>", "<h3>").replace(f"</h{level}>", "</h3>")
    clean = nh3.clean(
        html,
        tags=_ALLOWED_TAGS,
        attributes={"a": {"href", "title"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="nofollow noopener noreferrer",
    )
    return Markup(clean)  # nosec B704 # nh3 has just sanitised it: only the tags, attributes and URL schemes above


def render_page(template, block=None, **context):
    """The whole page, or only ``block`` when htmx targets the element of that id.

    Deciding by the target (not just "is this htmx") keeps boosted navigation
    and history restores on full pages. A block knows it is sent alone by
    ``partial`` (for out-of-band updates of the page around it).
    """
    if block and request.htmx and not request.htmx.boosted and request.htmx.target == block:
        return render_block(template, block, partial=True, **context)
    return render_template(template, **context)


def zone(name):
    try:
        return ZoneInfo(name or "UTC")
    except (KeyError, ValueError):
        return ZoneInfo("UTC")


def local(value, tz_name, fmt="%a %d %b %Y, %H:%M"):
    """A naive-UTC datetime shown in a member's zone."""
    if value is None:
        return ""
    aware = value.replace(tzinfo=dt.timezone.utc).astimezone(zone(tz_name))
    return aware.strftime(fmt)


def now_in(tz_name, fmt="%H:%M"):
    return dt.datetime.now(zone(tz_name)).strftime(fmt)


def init_app(app):
    app.jinja_env.filters["markdown"] = markdown
    app.jinja_env.filters["local"] = local
    app.jinja_env.globals["now_in"] = now_in
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True

    @app.context_processor
    def vocabulary():
        return {
            "LEVEL_LABEL": vocab.LEVEL_LABEL,
            "INDUSTRY_LABEL": vocab.INDUSTRY_LABEL,
            "REGION_LABEL": vocab.REGION_LABEL,
            "FORMAT_LABEL": vocab.FORMAT_LABEL,
            "country_names": vocab.country_names(),
            "language_names": vocab.language_names(),
            "program_name": app.config["PROGRAM_NAME"],
            "dev_mode": app.config["DEV"],
        }
