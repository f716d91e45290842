from django.apps import AppConfig


class ReviewsConfig(AppConfig):
    name = "huitouke.reviews"
    label = "reviews"
    verbose_name = "Reviews"
