"""The site-wide form renderer (settings.FORM_RENDERER): `{{ form }}` on any page of ours renders through
templates/forms/, so every form, and any field another app adds to one, looks the same."""

from django.forms.renderers import TemplatesSetting


class SiteFormRenderer(TemplatesSetting):
    """Django's TemplatesSetting renderer (templates from settings.TEMPLATES, so ours override Django's) with the
    site's form and field templates."""

    form_template_name = "forms/form.html"
    field_template_name = "forms/field.html"
