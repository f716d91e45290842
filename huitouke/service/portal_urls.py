"""The public self-service help page's routes, mounted at /help/ (see portal_views)."""

from django.urls import path

from huitouke.service import portal_views

app_name = "help"
urlpatterns = [
    path("", portal_views.index, name="index"),
    path("s/<id:shop_id>/", portal_views.shop_page, name="shop"),
    path("o/<str:token>/", portal_views.order_page, name="order"),
    path("t/<str:token>/", portal_views.ticket_page, name="ticket"),
    path("t/<str:token>/photos/<id:pk>/", portal_views.ticket_photo, name="photo"),
]
