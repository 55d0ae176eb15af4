from django.urls import path

from . import views
from .agent_card.urls import urlpatterns as agent_card_urlpatterns

app_name = "messaging"

urlpatterns = [
    path("genesys/verify", views.verify, name="genesys-verify"),
    *agent_card_urlpatterns,
]
