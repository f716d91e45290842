from django.urls import path

from huitouke.connectors import views

app_name = "connectors"
urlpatterns = [
    path("", views.source_list, name="list"),
    path("stores/<str:kind>/", views.store_save, name="store-save"),
    path("<id:pk>/sync/", views.source_sync, name="sync"),
    path("shopify/<str:key>/webhook", views.shopify_webhook, name="shopify-webhook"),
    path("woocommerce/<str:key>/webhook", views.woocommerce_webhook, name="woocommerce-webhook"),
]
