from django.urls import path

from huitouke.care import views

app_name = "care"
urlpatterns = [
    path("", views.rule_list, name="list"),
    path("new/", views.rule_new, name="new"),
    path("suggested/", views.rules_install, name="install"),
    path("tomorrow/", views.tomorrow, name="tomorrow"),
    path("carriers/", views.carriers, name="carriers"),
    path("<int:pk>/", views.rule_detail, name="detail"),
    path("<int:pk>/edit/", views.rule_edit, name="edit"),
    path("<int:pk>/preview/", views.rule_preview, name="preview"),
    path("<int:pk>/toggle/", views.rule_toggle, name="toggle"),
    path("<int:pk>/run/", views.rule_run, name="run"),
    path("<int:pk>/delete/", views.rule_delete, name="delete"),
]
