from django.urls import path

from huitouke.visits import views

app_name = "visits"

urlpatterns = [
    path("", views.queue, name="queue"),
]
