from django.urls import path

from huitouke.visits import views, views_public

app_name = "visits"

urlpatterns = [
    path("", views.queue, name="queue"),
    path("tasks/<id:pk>/", views.task, name="task"),
    path("tasks/<id:pk>/reveal/", views.reveal, name="reveal"),
    path("plans/", views.plans, name="plans"),
    path("plans/new/", views.plan_create, name="plan-create"),
    path("plans/suggested/", views.plans_suggested, name="plans-suggested"),
    path("plans/<id:pk>/", views.plan_edit, name="plan-edit"),
    path("report/", views.report, name="report"),
    path("report/recompute/", views.report_recompute, name="report-recompute"),
    path("q/<str:token>/", views_public.questionnaire_page, name="questionnaire"),
]
