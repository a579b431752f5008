"""A date hierarchy for millions of rows: links from the calendar, not from SELECT DISTINCT.

Django's own date_hierarchy asks the database for every distinct year, month or day present,
which scans the whole (filtered) table. This one reads only MIN and MAX (two index lookups) and
offers every month of a year and every day of a month; an empty one simply lists nothing.
"""

import calendar
import datetime

from django import template
from django.db.models import Max, Min
from django.utils import formats, timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _

register = template.Library()


@register.inclusion_tag("admin/date_hierarchy.html")
def audit_date_hierarchy(cl):
    field = cl.date_hierarchy
    year_field, month_field, day_field = f"{field}__year", f"{field}__month", f"{field}__day"
    year, month, day = (cl.params.get(name) for name in (year_field, month_field, day_field))

    def link(filters):
        return cl.get_query_string(filters, [f"{field}__"])

    if year and month and day:
        chosen = datetime.date(int(year), int(month), int(day))
        return {
            "show": True,
            "back": {"link": link({year_field: year, month_field: month}), "title": _month_title(chosen)},
            "choices": [{"title": capfirst(formats.date_format(chosen, "MONTH_DAY_FORMAT"))}],
        }
    if year and month:
        days = calendar.monthrange(int(year), int(month))[1]
        return {
            "show": True,
            "back": {"link": link({year_field: year}), "title": str(year)},
            "choices": [
                {
                    "link": link({year_field: year, month_field: month, day_field: number}),
                    "title": capfirst(
                        formats.date_format(datetime.date(int(year), int(month), number), "MONTH_DAY_FORMAT")
                    ),
                }
                for number in range(1, days + 1)
            ],
        }
    if year:
        return {
            "show": True,
            "back": {"link": link({}), "title": _("All dates")},
            "choices": [
                {
                    "link": link({year_field: year, month_field: number}),
                    "title": _month_title(datetime.date(int(year), number, 1)),
                }
                for number in range(1, 13)
            ],
        }
    bounds = cl.queryset.aggregate(first=Min(field), last=Max(field))
    if bounds["first"] is None:
        return {"show": False}
    first, last = (timezone.localtime(bounds[key]).year for key in ("first", "last"))
    return {
        "show": True,
        "back": None,
        "choices": [{"link": link({year_field: str(y)}), "title": str(y)} for y in range(first, last + 1)],
    }


def _month_title(day: datetime.date) -> str:
    return capfirst(formats.date_format(day, "YEAR_MONTH_FORMAT"))
