from django.urls import path

from huitouke.audiences import views

app_name = "audiences"
urlpatterns = [
    path("", views.segment_list, name="list"),
    path("new/", views.segment_new, name="new"),
    path("<id:pk>/", views.segment_edit, name="edit"),
    path("<id:pk>/count/", views.segment_count, name="count"),
    path("<id:pk>/delete/", views.segment_delete, name="delete"),
    path("consent/<id:pk>/", views.consent_group, name="consent"),
]
