"""The API describes itself: an OpenAPI schema and Swagger UI served with Maildog's own assets."""

import re

from django.test import Client


def test_schema_lists_every_endpoint_and_the_token_scheme(db):
    response = Client().get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json()
    assert set(schema["paths"]) == {
        "/api/v1/inboxes/",
        "/api/v1/inboxes/{inbox_id}/",
        "/api/v1/inboxes/{inbox_id}/reset-credentials/",
        "/api/v1/inboxes/{inbox_id}/messages/",
        "/api/v1/inboxes/{inbox_id}/messages/wait/",
        "/api/v1/inboxes/{inbox_id}/messages/{message_id}/",
        "/api/v1/inboxes/{inbox_id}/messages/{message_id}/raw/",
        "/api/v1/inboxes/{inbox_id}/messages/{message_id}/attachments/{index}/",
        "/api/v1/inboxes/{inbox_id}/messages/{message_id}/report/",
        "/api/v1/inboxes/{inbox_id}/messages/{message_id}/report/rerun/",
        "/api/v1/inboxes/{inbox_id}/faults/",
        "/api/v1/inboxes/{inbox_id}/faults/injected/",
        "/api/v1/inboxes/{inbox_id}/faults/{rule_id}/",
        "/api/v1/inboxes/{inbox_id}/webhooks/",
        "/api/v1/inboxes/{inbox_id}/webhooks/{webhook_id}/",
        "/api/v1/inboxes/{inbox_id}/webhooks/{webhook_id}/test/",
        "/api/v1/inboxes/{inbox_id}/webhooks/{webhook_id}/deliveries/",
    }
    assert schema["components"]["securitySchemes"]["apiToken"]["scheme"] == "bearer"
    wait = schema["paths"]["/api/v1/inboxes/{inbox_id}/messages/wait/"]["get"]
    assert {"to", "subject", "after_seq", "timeout"} <= {p["name"] for p in wait["parameters"]}
    assert set(wait["responses"]) >= {"200", "408"}
    assert "MessageDetail" in schema["components"]["schemas"]
    listing = schema["paths"]["/api/v1/inboxes/{inbox_id}/messages/"]["get"]
    assert {"to", "from", "subject", "text", "received_after"} <= {p["name"] for p in listing["parameters"]}


def test_docs_page_uses_local_assets(db):
    response = Client().get("/api/v1/docs/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in page
    # Every script and stylesheet comes from Maildog itself, none from a CDN.
    assert not re.search(r"""(?:src|href)=["'](?:https?:)?//""", page)
    assert "/api/v1/schema/" in page


def test_schema_is_valid_openapi_without_warnings(db, tmp_path):
    from django.core.management import call_command

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))
    assert "/api/v1/inboxes/{inbox_id}/messages/wait/" in (tmp_path / "schema.yaml").read_text()
