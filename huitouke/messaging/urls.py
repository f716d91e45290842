"""Pages of the messaging engine."""

from django.urls import path

from huitouke.messaging import customer_views, message_views, views

app_name = "messaging"
urlpatterns = [
    path("", message_views.message_list, name="list"),
    path("export/", message_views.message_export, name="export"),
    path("<id:pk>/", message_views.message_detail, name="detail"),
    path("resend/", message_views.message_resend, name="resend"),
    path("tasks/", views.task_list, name="tasks"),
    path("tasks/<id:pk>/sent/", views.task_mark_sent, name="task-sent"),
    path("tasks/<id:pk>/skip/", views.task_skip, name="task-skip"),
    path("templates/", views.template_list, name="templates"),
    path("templates/new/", views.template_edit, name="template-new"),
    path("templates/preview/", views.template_preview, name="template-preview"),
    path("templates/<id:pk>/", views.template_edit, name="template-edit"),
    path("templates/<id:pk>/copy/", views.template_copy, name="template-copy"),
    path("channels/", views.channel_settings, name="channels"),
    path("channels/<id:shop_key>/<str:channel>/", views.channel_edit, name="channel-edit"),
    path("policy/<id:shop_key>/", views.policy_edit, name="policy-edit"),
    path("u/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("customers/<id:pk>/preferences-link/", customer_views.preferences_send, name="preferences-send"),
]
