from django.urls import path

from huitouke.service import report_views

app_name = "service_reports"
urlpatterns = [
    path("", report_views.performance, name="performance"),
    path("refresh/", report_views.performance_refresh, name="performance_refresh"),
    path("recovery/", report_views.recovery, name="recovery"),
    path("recovery/refresh/", report_views.recovery_refresh, name="recovery_refresh"),
]
