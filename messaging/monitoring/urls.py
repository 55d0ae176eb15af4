"""Mounted by the site at /metrics (config/urls.py): `path("metrics", include("messaging.monitoring.urls"))`."""

from django.urls import path

from . import scrape

urlpatterns = [
    path("", scrape.metrics, name="metrics"),
]
