"""Pages of member levels."""

from django.urls import path

from huitouke.core.export_views import export_file
from huitouke.loyalty import views
from huitouke.loyalty.exports import MEMBERS_EXPORT_JOB_KIND

app_name = "loyalty"
urlpatterns = [
    path("", views.level_index, name="index"),
    path("<id:shop_id>/", views.level_settings, name="settings"),
    path("<id:shop_id>/simulate/", views.level_simulate, name="simulate"),
    path("<id:shop_id>/at-risk/", views.level_at_risk, name="at-risk"),
    path("<id:shop_id>/members.xlsx", views.member_export, name="export"),
    path("exports/<id:pk>/members.xlsx", export_file, {"kind": MEMBERS_EXPORT_JOB_KIND}, name="export-file"),
]
