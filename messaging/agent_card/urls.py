from django.urls import path

from . import views

urlpatterns = [
    path("agent/card/", views.card, name="agent-card"),
    path("agent/card/signed-in/", views.signed_in, name="agent-card-signed-in"),
]
