from django.apps import AppConfig


class ReviewsConfig(AppConfig):
    name = "huitouke.reviews"
    label = "reviews"
    verbose_name = "Reviews"

    def ready(self) -> None:
        from huitouke.core.services import job_register
        from huitouke.reviews.tasks import IMPORT_JOB_KIND, reviews_import_task

        job_register(IMPORT_JOB_KIND, reviews_import_task)
        from huitouke.reviews import extensions

        extensions.register()
