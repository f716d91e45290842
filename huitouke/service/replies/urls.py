"""Routes of the canned-reply pages, mounted under /service/replies/ in the service app's namespace."""

from django.urls import path

from huitouke.service.replies import views

urlpatterns = [
    path("replies/", views.reply_list, name="replies"),
    path("replies/new/", views.reply_new, name="reply-new"),
    path("replies/pick/", views.picker, name="reply-pick"),
    path("replies/wording/", views.wording_hints, name="wording-hints"),
    path("replies/wording/settings/", views.wording_settings, name="wording-settings"),
    path("replies/compose/", views.compose, name="reply-compose"),
    path("replies/images/<id:pk>/", views.reply_image, name="reply-image"),
    path("replies/images/<id:pk>/delete/", views.reply_image_delete, name="reply-image-delete"),
    path("replies/<id:pk>/", views.reply_edit, name="reply-edit"),
    path("replies/<id:pk>/delete/", views.reply_delete, name="reply-delete"),
    path("replies/<id:pk>/images/", views.reply_image_add, name="reply-image-add"),
    path("replies/<id:pk>/use/", views.reply_use, name="reply-use"),
    path("replies/<id:pk>/attach/", views.reply_images_attach, name="reply-attach"),
]
