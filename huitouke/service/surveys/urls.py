"""The staff's survey pages, included under /service/surveys/ in the service namespace."""

from django.urls import path

from huitouke.service.surveys import staff_views

urlpatterns = [
    path("", staff_views.results, name="survey-results"),
    path("settings/", staff_views.settings_page, name="survey-settings"),
    path("questions/<id:pk>/delete/", staff_views.question_delete, name="survey-question-delete"),
    path("ticket/<id:pk>/send/", staff_views.send, name="survey-send"),
    path("<id:pk>/praise/", staff_views.praise, name="survey-praise"),
]
