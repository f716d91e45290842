from django.urls import path

from huitouke.campaigns import oneoff_views, views

app_name = "campaigns"
urlpatterns = [
    path("", views.campaign_list, name="list"),
    path("new/", views.campaign_new, name="new"),
    path("one-off/", oneoff_views.one_off_send, name="one-off"),
    path("prices/", views.channel_prices, name="prices"),
    path("<id:pk>/", views.campaign_detail, name="detail"),
    path("<id:pk>/edit/", views.campaign_edit, name="edit"),
    path("<id:pk>/send/", views.campaign_send, name="send"),
    path("<id:pk>/test/", views.campaign_test, name="test"),
    path("<id:pk>/pause/", views.campaign_pause, name="pause"),
    path("<id:pk>/resume/", views.campaign_resume, name="resume"),
    path("<id:pk>/cancel/", views.campaign_cancel, name="cancel"),
]
