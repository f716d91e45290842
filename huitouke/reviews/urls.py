from django.urls import path

from huitouke.reviews import views, views_case, views_import

app_name = "reviews"
urlpatterns = [
    path("", views.review_index, name="list"),
    path("export/", views.review_export, name="export"),
    path("new/", views_case.review_new, name="new"),
    path("<id:pk>/", views_case.review_detail, name="detail"),
    path("<id:pk>/outcome/", views.review_outcome, name="outcome"),
    path("credit/", views.credit_page, name="credit"),
    path("analytics/", views.review_analytics, name="analytics"),
    path("credit/settings/", views.credit_settings, name="credit-settings"),
    path("import/", views_import.import_start, name="import"),
    path("import/<str:token>/", views_import.import_confirm, name="import-confirm"),
    path("import/jobs/<id:pk>/errors.csv", views_import.import_errors, name="import-errors"),
]
