from django.urls import path

from huitouke.core import health, views

app_name = "core"
urlpatterns = [
    path("", views.home, name="home"),
    path("tokens/", views.token_list, name="tokens"),
    path("tokens/<id:pk>/revoke/", views.token_revoke, name="token-revoke"),
    path("jobs/<id:pk>/", views.job_detail, name="job"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", health.metrics_view, name="metrics"),
]
