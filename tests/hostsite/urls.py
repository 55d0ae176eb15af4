"""The host site's pages: one page with the widget, the admin, messaging's data action endpoint, and (when
installed) the OpenID Connect provider with the page's auth-code endpoint."""

from django.apps import apps
from django.contrib import admin
from django.urls import include, path
from django.views.generic import TemplateView

urlpatterns = [
    path("", TemplateView.as_view(template_name="hostsite/home.html"), name="home"),
    path("admin/", admin.site.urls),
    path("messaging/", include("messaging.urls")),
]

if apps.is_installed("messaging.oidc"):
    urlpatterns.append(path("o/", include("messaging.oidc.urls")))
