"""Mounted by the site at /metrics (config/urls.py): `path("metrics", include("messaging.metrics_urls"))`."""

from django.urls import path

from . import metrics_views

urlpatterns = [
    path("", metrics_views.metrics, name="metrics"),
]
