"""Pages of member levels."""

from django.urls import path

from huitouke.loyalty import views

app_name = "loyalty"
urlpatterns = [
    path("", views.level_index, name="index"),
    path("<int:shop_id>/", views.level_settings, name="settings"),
    path("<int:shop_id>/simulate/", views.level_simulate, name="simulate"),
    path("<int:shop_id>/at-risk/", views.level_at_risk, name="at-risk"),
    path("<int:shop_id>/members.xlsx", views.member_export, name="export"),
    path("exports/<int:pk>/members.xlsx", views.member_export_file, name="export-file"),
]
