from django.urls import path

from huitouke.core import account_views, audit_views, export_views, health, views

app_name = "core"
urlpatterns = [
    path("", views.home, name="home"),
    path("tokens/", views.token_list, name="tokens"),
    path("tokens/<id:pk>/revoke/", views.token_revoke, name="token-revoke"),
    path("jobs/<id:pk>/", views.job_detail, name="job"),
    path("exports/<id:pk>/", export_views.export_file, name="export-file"),
    path("audit/", audit_views.audit_list, name="audit"),
    path("account/", account_views.account, name="account"),
    path("account/password/", account_views.password_change, name="password"),
    path("account/two-factor/", account_views.two_factor, name="two-factor"),
    path("account/sign-out-everywhere/", account_views.sign_out_everywhere, name="sign-out-everywhere"),
    path("account/lockouts/", account_views.lockout_page, name="lockouts"),
    path("account/lockouts/lift/", account_views.lockout_lift_view, name="lockout-lift"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", health.metrics_view, name="metrics"),
]
