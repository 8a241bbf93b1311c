"""SendWebhook: POST the rendered JSON payload, signed per Standard Webhooks.

`webhook-signature` is `v1,` + base64 HMAC-SHA256 over `{id}.{timestamp}.{body}` keyed
with the base64-decoded part of the integration's `whsec_` secret. The id is the
delivery's message id, the same on every retry; the timestamp is the attempt's.
"""

import base64
import hashlib
import hmac
import json
import time

import httpx

from automations.actions.base import USER_AGENT, Message, Outcome, Target, post

SECRET_PREFIX = "whsec_"


def secret_key(secret: str) -> bytes:
    """The HMAC key of a `whsec_...` secret; ValueError if it is not one."""
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError("a webhook secret starts with 'whsec_' followed by base64")
    try:
        key = base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
    except ValueError as exc:
        raise ValueError("the part of a webhook secret after 'whsec_' must be base64") from exc
    if not 24 <= len(key) <= 64:
        raise ValueError("a webhook secret holds 24 to 64 bytes (base64 after 'whsec_')")
    return key


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


class SendWebhookAction:
    def __init__(self, client: httpx.Client) -> None:
        self._client = client

    def act(self, message: Message, target: Target | None) -> Outcome:
        assert target is not None
        body = json.dumps(message.payload, separators=(",", ":"), default=str).encode()
        timestamp = int(time.time())
        headers = {
            "content-type": "application/json",
            "user-agent": USER_AGENT,
            "webhook-id": message.message_id,
            "webhook-timestamp": str(timestamp),
            "strata-automation-chain": message.chain,
        }
        if target.secret:
            headers["webhook-signature"] = sign(target.secret, message.message_id, timestamp, body)
        if target.access_token:
            headers["authorization"] = f"Bearer {target.access_token}"
        return post(self._client, target.url, body, headers)
