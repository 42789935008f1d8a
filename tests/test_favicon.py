"""The site's icon: /favicon.ico answered (browsers and other clients ask for it) and linked from every page."""

import re

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_favicon_ico_is_served(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response["Content-Type"] in ("image/x-icon", "image/vnd.microsoft.icon")
    body = b"".join(response.streaming_content)
    # An ICO directory (reserved 0, type 1) with its images, each a PNG.
    assert body[:4] == b"\x00\x00\x01\x00" and body.count(b"\x89PNG") == int.from_bytes(body[4:6], "little") >= 1


@pytest.mark.parametrize("signed_in", [False, True])
def test_pages_link_the_icons(client, owner, signed_in):
    if signed_in:
        client.force_login(owner)
    page = client.get(reverse("account_login") if not signed_in else reverse("accounts:teams")).content.decode()
    assert '<link rel="icon" href="/favicon.ico"' in page
    svg_url = re.search(r'<link rel="icon" href="([^"]+\.svg)" type="image/svg\+xml">', page).group(1)
    svg = client.get(svg_url)
    assert svg.status_code == 200 and svg["Content-Type"].startswith("image/svg+xml")
    assert b"<svg" in b"".join(svg.streaming_content)
