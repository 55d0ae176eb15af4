from django.urls import path

from . import views

app_name = "messaging"

urlpatterns = [
    path("genesys/verify", views.verify, name="genesys-verify"),
]
