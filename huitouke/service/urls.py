from django.urls import path

from huitouke.service import views

app_name = "service"
urlpatterns = [
    path("attachments/<id:pk>/", views.attachment_download, name="attachment"),
]
