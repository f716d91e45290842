from django.urls import path

from huitouke.care import views

app_name = "care"
urlpatterns = [
    path("", views.rule_list, name="list"),
    path("new/", views.rule_new, name="new"),
    path("suggested/", views.rules_install, name="install"),
    path("tomorrow/", views.tomorrow, name="tomorrow"),
    path("carriers/", views.carriers, name="carriers"),
    path("<id:pk>/", views.rule_detail, name="detail"),
    path("<id:pk>/edit/", views.rule_edit, name="edit"),
    path("<id:pk>/preview/", views.rule_preview, name="preview"),
    path("<id:pk>/toggle/", views.rule_toggle, name="toggle"),
    path("<id:pk>/run/", views.rule_run, name="run"),
    path("<id:pk>/delete/", views.rule_delete, name="delete"),
]
