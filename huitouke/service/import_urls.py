from django.urls import path

from huitouke.service import import_views

app_name = "service_import"
urlpatterns = [
    path("", import_views.import_start, name="start"),
    path("jobs/<id:pk>/errors.csv", import_views.import_errors, name="errors"),
    path("<str:token>/", import_views.import_confirm, name="confirm"),
]
