from django.contrib import admin
from django.urls import include, path

from accounts import views as account_views
from health import views as health_views

admin.site.site_header = "Member Messaging administration"
admin.site.site_title = "Member Messaging"

urlpatterns = [
    path("", account_views.home, name="home"),
    path("accounts/", include("accounts.urls")),
    path("messaging/", include("messaging.urls")),
    path("admin/", admin.site.urls),
    path("healthz", health_views.healthz, name="healthz"),
    path("readyz", health_views.readyz, name="readyz"),
]
