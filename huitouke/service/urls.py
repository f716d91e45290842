from django.urls import include, path

from huitouke.service import export_views, portal_views, views, views_settings, views_ticket
from huitouke.service.replies.urls import urlpatterns as replies_urls

app_name = "service"
urlpatterns = [
    path("", views.queue, name="queue"),
    path("assign/", views.assign, name="assign"),
    path("export/", export_views.ticket_export, name="export"),
    path("notifications/read/", views.notices_read, name="notices-read"),
    path("new/", views.ticket_new, name="new"),
    path("<id:pk>/", views.ticket_detail, name="ticket"),
    path("<id:pk>/take/", views_ticket.take, name="take"),
    path("<id:pk>/edit/", views_ticket.edit, name="edit"),
    path("<id:pk>/reply/", views_ticket.reply, name="reply"),
    path("<id:pk>/transfer/", views_ticket.transfer, name="transfer"),
    path("<id:pk>/status/", views_ticket.status, name="status"),
    path("<id:pk>/steps/<str:key>/", views_ticket.step, name="step"),
    path("<id:pk>/compensations/", views_ticket.compensation_add, name="compensation"),
    path("<id:pk>/compensations/<id:entry>/approve/", views_ticket.compensation_approve, name="approve"),
    path("<id:pk>/attachments/", views_ticket.attachment_upload, name="attach"),
    path("attachments/<id:pk>/", views_ticket.attachment_download, name="attachment"),
    path("settings/", views_settings.calendar, name="settings"),
    path("settings/self-service/", portal_views.settings_switch, name="self-service"),
    path("settings/policies/", views_settings.policies, name="policies"),
    path("settings/policies/new/", views_settings.policy_new, name="policy-new"),
    path("settings/policies/<id:pk>/", views_settings.policy_edit, name="policy-edit"),
    path("settings/policies/<id:pk>/delete/", views_settings.policy_delete, name="policy-delete"),
    path("settings/playbooks/", views_settings.playbooks, name="playbooks"),
    path("settings/playbooks/edit/", views_settings.playbook_edit, name="playbook-edit"),
    path("settings/playbooks/delete/", views_settings.playbook_delete, name="playbook-delete"),
    path("surveys/", include("huitouke.service.surveys.urls")),
    *replies_urls,
]
