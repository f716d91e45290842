"""Pages of the customer archive."""

from django.urls import path

from huitouke.customers import followups, views

app_name = "customers"
urlpatterns = [
    path("", views.customer_list, name="list"),
    path("bulk-tag/", views.customers_bulk_tag, name="bulk-tag"),
    path("export/", views.customer_export, name="export"),
    path("follow-ups/", followups.follow_up_list, name="follow-ups"),
    path("<int:pk>/", views.customer_detail, name="detail"),
    path("<int:pk>/update/", views.customer_update, name="update"),
    path("<int:pk>/notes/", views.note_add, name="note-add"),
    path("<int:pk>/notes/<int:note_id>/done/", followups.follow_up_done, name="follow-up-done"),
    path("<int:pk>/tags/add/", views.tag_add, name="tag-add"),
    path("<int:pk>/tags/remove/", views.tag_remove, name="tag-remove"),
    path("<int:pk>/merge/", views.customer_merge, name="merge"),
]
