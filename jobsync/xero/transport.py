"""xero-python's ApiClient, built the way jobsync needs it.

- The SDK never refreshes a token itself: the getter hands it a fresh access
  token from jobsync's own token store with an expiry far enough ahead.
- urllib3's hidden default retries (3, PUT included) are switched off, so each
  retry is a decision made in `retry.py` with the same Idempotency-Key.
- Request bodies given as bytes are sent as they are. The SDK's serializer turns
  Decimal into float and its REST layer re-encodes with `json.dumps`; sending our
  own bytes keeps amounts digit-exact and makes the bytes on the wire the bytes
  hashed into the Idempotency-Key. Everything else (auth header, tenant header,
  query encoding, HTTP status → exception) stays the SDK's.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import urllib3
from xero_python.api_client import ApiClient
from xero_python.api_client.configuration import Configuration
from xero_python.api_client.oauth2 import OAuth2Token
from xero_python.exceptions import HTTPStatusException
from xero_python.rest import RESTClientObject, RESTResponse

from jobsync.net import http

TOKEN_LIFETIME = 1800  # seconds the SDK is told the token lives; it then never tries to refresh


# xero-python ships no type information, so its base class is `Any` to mypy.
class RawBodyRESTClient(RESTClientObject):  # type: ignore[misc]
    """The SDK's REST client, passing a pre-encoded `bytes` JSON body through untouched."""

    def request(
        self,
        method: str,
        url: str,
        query_params: Any = None,
        headers: dict[str, str] | None = None,
        body: Any = None,
        post_params: Any = None,
        _preload_content: bool = True,
        _request_timeout: Any = None,
    ) -> Any:
        if not isinstance(body, bytes):
            return super().request(
                method, url, query_params, headers, body, post_params, _preload_content, _request_timeout
            )
        if query_params:
            url += "?" + urlencode(query_params)
        response = self.pool_manager.request(
            method,
            url,
            body=body,
            headers=headers or {},
            preload_content=_preload_content,
            timeout=_timeout(_request_timeout),
        )
        if not 200 <= response.status <= 299:
            raise HTTPStatusException(http_resp=RESTResponse(response))
        return RESTResponse(response) if _preload_content else response


def _timeout(value: Any) -> urllib3.Timeout | None:
    if isinstance(value, tuple):
        return urllib3.Timeout(connect=value[0], read=value[1])
    if isinstance(value, int | float):
        return urllib3.Timeout(total=value)
    return None


def build_api_client(
    token_provider: Callable[[], str], api_url: str, clock: Callable[[], float] = time.time
) -> ApiClient:
    """The SDK's client, set up from jobsync's one HTTP layer: its User-Agent and the environment's proxy."""

    def token_getter() -> dict[str, Any]:
        now = clock()
        return {
            "access_token": token_provider(),
            "token_type": "Bearer",
            "expires_in": TOKEN_LIFETIME,
            "expires_at": now + TOKEN_LIFETIME,
            "scope": ["offline_access"],  # a list: the SDK joins it if it ever refreshes
        }

    # No refresh token is ever handed to the SDK, so it cannot refresh behind jobsync's token lock.
    config = Configuration(oauth2_token=OAuth2Token(client_id="jobsync", client_secret="unused"))
    # The SDK's urllib3 pool reads no environment variable, so it is told the proxy requests would use.
    config.proxy = http.proxy_for(api_url)
    api_client = ApiClient(config, pool_threads=1, oauth2_token_getter=token_getter)
    api_client.user_agent = http.user_agent()
    api_client.rest_client = RawBodyRESTClient(config)
    api_client.rest_client.pool_manager.connection_pool_kw["retries"] = False
    return api_client
