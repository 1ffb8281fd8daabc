"""The one outbound HTTP layer: every client, xero-python's pool included, takes the proxy from the
environment and sends jobsync's User-Agent. A loopback server plays the proxy: a client that uses it
sends the absolute target URL in the request line, which a direct request never does."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import urllib3

from jobsync import __version__
from jobsync.net import http
from jobsync.output import notify
from jobsync.xero.client import XeroClient
from tests.test_http import Scripted

TARGET = "http://xero.invalid/api.xro/2.0"


@pytest.fixture
def proxy(monkeypatch: pytest.MonkeyPatch) -> Iterator[Scripted]:
    server = Scripted()
    for name in ("HTTP_PROXY", "http_proxy"):
        monkeypatch.setenv(name, server.url)
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    yield server
    server.server.shutdown()
    server.server.server_close()


def test_send_goes_through_the_environments_proxy_with_jobsyncs_user_agent(proxy: Scripted) -> None:
    response = http.send("POST", "http://hooks.invalid/alert", json={"text": "x"})
    assert response.status_code == 200
    method, path, headers = proxy.seen[0]
    assert (method, path) == ("POST", "http://hooks.invalid/alert")
    assert headers["User-Agent"] == f"jobsync/{__version__}"


def test_xero_pythons_pool_uses_the_same_proxy_and_user_agent(proxy: Scripted) -> None:
    proxy.script.append((200, {"Content-Type": "application/json"}, '{"Invoices": []}'))
    client = XeroClient(TARGET, "tenant-1", lambda: "token", max_retries=0)
    assert isinstance(client.api_client.rest_client.pool_manager, urllib3.ProxyManager)
    assert client.find_invoices_by_reference(["J-1"]) == []
    method, path, headers = proxy.seen[0]
    assert method == "GET" and path.startswith(TARGET + "/Invoices")
    assert headers["User-Agent"] == f"jobsync/{__version__}"


def test_no_proxy_covers_a_host_for_every_client(proxy: Scripted, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_PROXY", "xero.invalid")
    assert http.proxy_for(TARGET) is None
    client = XeroClient(TARGET, "tenant-1", lambda: "token", max_retries=0)
    assert not isinstance(client.api_client.rest_client.pool_manager, urllib3.ProxyManager)
    assert http.proxy_for("http://other.invalid/") == proxy.url


def test_an_alert_webhook_leaves_through_the_layer(proxy: Scripted) -> None:
    assert notify._post_json("webhook", "http://hooks.invalid/x", {"a": 1}, timeout=5) is None
    assert proxy.seen[0][1] == "http://hooks.invalid/x"
