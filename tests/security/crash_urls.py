"""The real URLconf plus one view that crashes, so a test can see the 500 page's headers."""

from django.urls import path

from reviewportal import urls as real


def crash(request):
    raise RuntimeError("a deliberate crash, to render the error page")


urlpatterns = [path("test-crash", crash), *real.urlpatterns]
handler400 = real.handler400
handler403 = real.handler403
handler404 = real.handler404
handler500 = real.handler500
