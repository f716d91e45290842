from django.urls import path

from huitouke.orders import views

app_name = "orders"
urlpatterns = [
    path("", views.import_start, name="import"),
    path("<str:token>/", views.import_confirm, name="import-confirm"),
    path("jobs/<id:pk>/errors.csv", views.import_errors, name="import-errors"),
]
