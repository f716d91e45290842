"""Pages of the customer archive."""

from django.urls import path

from huitouke.customers import views

app_name = "customers"
urlpatterns = [
    path("", views.customer_list, name="list"),
    path("bulk-tag/", views.customers_bulk_tag, name="bulk-tag"),
    path("export/", views.customer_export, name="export"),
    path("<int:pk>/", views.customer_detail, name="detail"),
    path("<int:pk>/update/", views.customer_update, name="update"),
    path("<int:pk>/notes/", views.note_add, name="note-add"),
    path("<int:pk>/tags/add/", views.tag_add, name="tag-add"),
    path("<int:pk>/tags/remove/", views.tag_remove, name="tag-remove"),
    path("<int:pk>/merge/", views.customer_merge, name="merge"),
]
