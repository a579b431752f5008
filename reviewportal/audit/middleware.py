from reviewportal.audit import trail


class AuditContextMiddleware:
    """Binds the request (who, from where, which request) for every event recorded while it runs."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = trail.request_id_for(request)
        with trail.context(
            request=request,
            ip=trail.client_ip(request),
            user_agent=request.headers.get("User-Agent", ""),
            request_id=request_id,
        ):
            response = self.get_response(request)
        response["X-Request-ID"] = request_id
        return response
