"""Analytics pages (the dashboard itself is the landing page, "/")."""

from django.urls import path

from huitouke.analytics import views

app_name = "analytics"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("products/", views.products, name="products"),
    path("groups/", views.groups, name="groups"),
    path("cohorts/", views.cohorts, name="cohorts"),
    path("refresh/", views.refresh, name="refresh"),
]
