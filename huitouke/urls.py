"""URL map: the pages of each app, the login pages, the language switch and the REST API."""

from django.contrib.auth import views as auth_views
from django.urls import include, path

from huitouke.api import api
from huitouke.audiences import views as audiences_views
from huitouke.core import account_views
from huitouke.messaging import customer_views as messaging_links
from huitouke.service.surveys import views as survey_views

urlpatterns = [
    path("", include("huitouke.core.urls")),
    path("customers/", include("huitouke.customers.urls")),
    path("imports/", include("huitouke.orders.urls")),
    path("sources/", include("huitouke.connectors.urls")),
    path("messages/", include("huitouke.messaging.urls")),
    path("levels/", include("huitouke.loyalty.urls")),
    path("analytics/", include("huitouke.analytics.urls")),
    path("segments/", include("huitouke.audiences.urls")),
    path("care/", include("huitouke.care.urls")),
    path("campaigns/", include("huitouke.campaigns.urls")),
    path("service/reports/", include("huitouke.service.report_urls")),
    path("service/import/", include("huitouke.service.import_urls")),
    path("service/", include("huitouke.service.urls")),
    path("reviews/", include("huitouke.reviews.urls")),
    path("visits/", include("huitouke.visits.urls")),
    path("help/", include("huitouke.service.portal_urls")),
    path("preferences/<str:token>/", audiences_views.preferences, name="preferences"),
    # the short forms that messages carry (an SMS counts every character)
    path("p/<str:token>/", audiences_views.preferences, name="preferences-link"),
    path("u/<str:token>/", messaging_links.unsubscribe_link, name="unsubscribe-link"),
    path("s/<str:token>/", survey_views.survey_page, name="survey"),
    path("login/", account_views.signin, name="login"),
    path("login/verify/", account_views.signin_verify, name="login-verify"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", api.urls),
]
