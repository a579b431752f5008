from django import template

from escalations.models import Category

register = template.Library()


@register.inclusion_tag("escalations/_flag_form.html")
def flag_form(clip):
    """The distress form for a clip page: categories, the stretch heard, a note."""
    return {"clip": clip, "categories": Category.choices}
