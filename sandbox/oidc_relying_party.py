"""Genesys as OpenID Connect relying party: exchange the page's code at the provider and check the ID token.

What Genesys does with the OpenID Connect Messenger Configuration integration (GENESYS.md, Authenticated
messaging): read the provider's discovery document, exchange the code server to server with the integration's
client id and secret (and the page's PKCE verifier), validate the ID token: signature against the provider's JWKS,
`iss`, `aud`, `exp`, `nonce`. jwcrypto does the JOSE work (the same library django-oauth-toolkit uses; no product
code is imported). Discovery and JWKS are read on each exchange: the sandbox caches nothing, so a rotated key is
seen at once.

Refresh, as Genesys does it (a Genesys manager on the community forum, "Session validation with third party auth
provider", 2026-01: the session is checked against the provider "using the refresh token mechanism" once the
code's token has expired; Genesys' docs: the JWT lives 15 minutes "or the access token age, whichever is the
smallest"): the provider's refresh token is kept with the Genesys grant, and every Genesys refresh first refreshes
at the provider's token endpoint. A provider that refuses (the member changed their password or signed out, the
refresh token expired) makes Genesys refuse the refresh and end the grant; one that issued no refresh token gives
a grant that cannot be refreshed. Stricter than Genesys if Genesys skips the provider while its own access token
is still valid: here the JWT never outlives the provider's access token, so every refresh would be past it.
"""

from __future__ import annotations

import dataclasses
import json
import time
from typing import Any

import requests
from jwcrypto import jwk, jws, jwt
from jwcrypto.common import JWException

from .config import Config

# Seconds of clock skew allowed on exp/iat (the provider and the sandbox share a machine here).
LEEWAY = 30


class ExchangeRefused(Exception):
    """The code could not be turned into a checked identity; the message says why (no secret in it)."""


@dataclasses.dataclass(frozen=True)
class Exchanged:
    """A checked identity: the ID token's claims, the provider's refresh token ("" when it gave none) and the
    seconds its access token lives (None when it did not say)."""

    claims: dict[str, Any]
    refresh_token: str
    expires_in: int | None


def exchange_code(config: Config, oauth: dict[str, Any], session: requests.Session | None = None) -> Exchanged:
    """The checked identity for `oauth` (`code`, `redirectUri`, `nonce`, `codeVerifier`?). Raises
    ExchangeRefused."""
    code, redirect_uri, nonce = oauth.get("code"), oauth.get("redirectUri"), oauth.get("nonce")
    if not all(isinstance(value, str) and value for value in (code, redirect_uri, nonce)):
        raise ExchangeRefused("oauth.code, oauth.redirectUri and oauth.nonce are required.")
    http = session or requests.Session()
    http.trust_env = False  # the provider is reached directly, never through a proxy of the environment
    discovery = _get_json(http, config.oidc_discovery_url, config.oidc_timeout, "discovery document")
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
    if isinstance(oauth.get("codeVerifier"), str):
        form["code_verifier"] = oauth["codeVerifier"]
    answer = _token_request(http, config, discovery, form, "code")
    id_token = _field(answer, "id_token")
    if not id_token:
        raise ExchangeRefused("The provider answered no id_token.")
    keys = jwk.JWKSet.from_json(json.dumps(_get_json(http, discovery.get("jwks_uri", ""), config.oidc_timeout, "JWKS")))
    claims = validate_id_token(
        id_token, keys, issuer=discovery.get("issuer", ""), audience=config.oidc_client_id, nonce=nonce
    )
    return Exchanged(claims=claims, refresh_token=_text(answer, "refresh_token"), expires_in=_seconds(answer))


def refresh_at_provider(config: Config, refresh_token: str, session: requests.Session | None = None) -> Exchanged:
    """The provider's answer to a refresh_token grant with the integration's client credentials: its new refresh
    token (the old one if it does not rotate) and access token lifetime; no claims. Raises ExchangeRefused."""
    if not refresh_token:
        raise ExchangeRefused("The provider gave no refresh token: the member must sign in again.")
    http = session or requests.Session()
    http.trust_env = False
    discovery = _get_json(http, config.oidc_discovery_url, config.oidc_timeout, "discovery document")
    answer = _token_request(
        http, config, discovery, {"grant_type": "refresh_token", "refresh_token": refresh_token}, "refresh token"
    )
    return Exchanged(
        claims={}, refresh_token=_text(answer, "refresh_token") or refresh_token, expires_in=_seconds(answer)
    )


def _token_request(
    http: requests.Session, config: Config, discovery: dict[str, Any], form: dict[str, str], what: str
) -> requests.Response:
    """POST `form` to the provider's token endpoint with the client's Basic credentials; the 200 answer, else
    ExchangeRefused naming the provider's error code."""
    try:
        answer = http.post(
            discovery["token_endpoint"],
            data=form,
            auth=(config.oidc_client_id, config.oidc_client_secret),
            timeout=config.oidc_timeout,
        )
    except (requests.RequestException, KeyError) as error:
        raise ExchangeRefused(f"The token endpoint could not be reached ({type(error).__name__}).") from None
    if answer.status_code != 200:
        error = _field(answer, "error") or f"HTTP {answer.status_code}"
        raise ExchangeRefused(f"The provider refused the {what}: {error}.")
    return answer


def validate_id_token(token: str, keys: jwk.JWKSet, *, issuer: str, audience: str, nonce: str) -> dict[str, Any]:
    """The claims of `token` if it is signed (RS256) by a key of `keys` and names `issuer`, `audience` and
    `nonce`, and has not expired. Raises ExchangeRefused."""
    try:
        header = jws.JWS()
        header.deserialize(token)
        kid = header.jose_header.get("kid")
        if header.jose_header.get("alg") != "RS256":
            raise ExchangeRefused("The ID token is not signed with RS256.")
        if kid is None or keys.get_key(kid) is None:
            raise ExchangeRefused("The ID token's key is not in the provider's JWKS.")
        # jwcrypto checks the signature and exp/nbf; the other claims are checked below.
        checked = jwt.JWT(algs=["RS256"], check_claims={"exp": None})
        checked.leeway = LEEWAY
        checked.deserialize(token, keys)
    except jwt.JWTExpired:
        raise ExchangeRefused("The ID token has expired.") from None
    except (JWException, ValueError) as error:
        raise ExchangeRefused(f"The ID token is not valid ({type(error).__name__}).") from None
    claims = json.loads(checked.claims)
    audiences = claims.get("aud") if isinstance(claims.get("aud"), list) else [claims.get("aud")]
    if claims.get("iss") != issuer:
        raise ExchangeRefused("The ID token's issuer is not the provider's.")
    if audience not in audiences:
        raise ExchangeRefused("The ID token is not for this client (aud).")
    if claims.get("nonce") != nonce:
        raise ExchangeRefused("The ID token's nonce is not the one sent.")
    if not isinstance(claims.get("exp"), int) or claims["exp"] + LEEWAY < time.time():
        raise ExchangeRefused("The ID token has expired.")
    if not isinstance(claims.get("sub"), str) or not claims["sub"]:
        raise ExchangeRefused("The ID token names no subject.")
    return claims


def _get_json(http: requests.Session, url: str, timeout: float, what: str) -> dict[str, Any]:
    try:
        response = http.get(url, timeout=timeout)
        response.raise_for_status()
        data = response.json()
    except (requests.RequestException, ValueError) as error:
        raise ExchangeRefused(f"The provider's {what} could not be read ({type(error).__name__}).") from None
    if not isinstance(data, dict):
        raise ExchangeRefused(f"The provider's {what} is not a JSON object.")
    return data


def _text(response: requests.Response, name: str) -> str:
    value = _field(response, name)
    return value if isinstance(value, str) else ""


def _seconds(response: requests.Response) -> int | None:
    value = _field(response, "expires_in")
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _field(response: requests.Response, name: str) -> Any:
    try:
        data = response.json()
    except ValueError:
        return None
    return data.get(name) if isinstance(data, dict) else None
