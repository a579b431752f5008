"""The OpenAPI schema covers the whole API and documents each endpoint's errors."""

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_the_schema_generates_without_warnings(tmp_path):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yml"))


def test_the_schema_is_served_to_signed_in_people_only(client, reviewer_client):
    assert client.get("/api/v1/schema").status_code == 403
    response = reviewer_client.get("/api/v1/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200


def test_every_operation_documents_its_errors(reviewer_client):
    schema = reviewer_client.get("/api/v1/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            codes = set(operation["responses"])
            assert codes & {"401", "403"}, f"{method.upper()} {path} documents no auth error"
            if "{" in path:
                assert "404" in codes, f"{method.upper()} {path} documents no 404"
            if operation.get("requestBody"):
                assert "400" in codes, f"{method.upper()} {path} documents no 400"
