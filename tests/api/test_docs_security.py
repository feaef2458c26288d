"""Issue #16 item 7b: /docs is as locked down as the staff console (the same Content-Security-Policy,
no framing) and does not keep the token given to "Authorize" in localStorage."""
import re
import urllib.parse

import pytest


@pytest.mark.parametrize("page", ["/docs", "/docs/"])
def test_docs_page_has_the_consoles_content_security_policy(server, page):
    docs = server.get(page)
    assert docs.status_code == 200
    policy = docs.headers.get("Content-Security-Policy", "")
    assert policy == server.get("/admin/").headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in policy and "script-src 'self'" in policy and "default-src 'none'" in policy
    assert docs.headers["X-Frame-Options"] == "DENY"


def test_docs_page_does_not_keep_tokens_in_local_storage(server):
    page = server.get("/docs/").text
    scripts = re.findall(r'<script src="([^"]+)"', page)
    init = [s for s in scripts if s.startswith("init.")]
    assert len(init) == 1, scripts
    code = server.get(urllib.parse.urljoin("/docs/", init[0])).text
    assert "SwaggerUIBundle(" in code
    # Swagger UI's persistAuthorization writes the "Authorize" token to localStorage.
    assert re.search(r"persistAuthorization\s*:\s*false", code), code
    assert "localStorage." not in code  # and does not write there itself
