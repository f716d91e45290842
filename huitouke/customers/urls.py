"""Pages of the customer archive."""

from django.urls import path

from huitouke.core.export_views import export_file
from huitouke.customers import export_views, followups, privacy_views, views
from huitouke.customers.exports import CUSTOMERS_EXPORT_JOB_KIND

app_name = "customers"
urlpatterns = [
    path("", views.customer_list, name="list"),
    path("bulk-tag/", views.customers_bulk_tag, name="bulk-tag"),
    path("export/", export_views.customer_export, name="export"),
    path("exports/<id:pk>/", export_file, {"kind": CUSTOMERS_EXPORT_JOB_KIND}, name="export-file"),
    path("follow-ups/", followups.follow_up_list, name="follow-ups"),
    path("<id:pk>/", views.customer_detail, name="detail"),
    path("<id:pk>/update/", views.customer_update, name="update"),
    path("<id:pk>/notes/", views.note_add, name="note-add"),
    path("<id:pk>/notes/<id:note_id>/done/", followups.follow_up_done, name="follow-up-done"),
    path("<id:pk>/tags/add/", views.tag_add, name="tag-add"),
    path("<id:pk>/tags/remove/", views.tag_remove, name="tag-remove"),
    path("<id:pk>/merge/", views.customer_merge, name="merge"),
    path("<id:pk>/privacy/", privacy_views.customer_privacy, name="privacy"),
    path("<id:pk>/privacy/export/", privacy_views.customer_privacy_export, name="privacy-export"),
    path("<id:pk>/privacy/erase/", privacy_views.customer_privacy_erase, name="privacy-erase"),
]
