"""The host site's pages: one page with the widget, the admin, and messaging's data action endpoint."""

from django.contrib import admin
from django.urls import include, path
from django.views.generic import TemplateView

urlpatterns = [
    path("", TemplateView.as_view(template_name="hostsite/home.html"), name="home"),
    path("admin/", admin.site.urls),
    path("messaging/", include("messaging.urls")),
]
