"""SendNotification: a Slack incoming-webhook message, `text` plus Block Kit `blocks`.

Slack's limits: a header block's text is at most 150 characters, a section's 3,000, a
context element's 2,000; `text` (the notification fallback) is truncated at 4,000.
"""

import json
from typing import Any

import httpx

from automations.actions.base import USER_AGENT, Message, Outcome, Target, post

ICONS = {"info": ":information_source:", "warning": ":warning:", "error": ":rotating_light:"}


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def slack_message(payload: dict[str, Any], channel: str | None) -> dict[str, Any]:
    severity = payload.get("severity", "info")
    title = str(payload.get("title") or payload.get("event_type", "Strata automation"))
    text = str(payload.get("text") or "")
    icon = ICONS.get(severity, ICONS["info"])
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": _cut(title, 150)}}
    ]
    if text:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _cut(text, 3000)}})
    context = f"{icon} {severity} · {payload.get('event_type', '')}"
    blocks.append(
        {"type": "context", "elements": [{"type": "mrkdwn", "text": _cut(context, 2000)}]}
    )
    message: dict[str, Any] = {
        "text": _cut(f"{icon} {title}" + (f": {text}" if text else ""), 4000),
        "blocks": blocks,
    }
    if channel:
        message["channel"] = channel
    return message


class SlackNotificationAction:
    def __init__(self, client: httpx.Client) -> None:
        self._client = client

    def act(self, message: Message, target: Target | None) -> Outcome:
        assert target is not None
        body = json.dumps(slack_message(message.payload, target.channel)).encode()
        headers = {"content-type": "application/json", "user-agent": USER_AGENT}
        return post(self._client, target.url, body, headers)
