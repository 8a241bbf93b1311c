"""The delivery worker: claims due deliveries in one short transaction, sends them on a
thread pool, and records each outcome in its own transaction.

`wake()` is called when an event commits in this process, so a delivery starts within
milliseconds; `tick()` is the scheduler's periodic safety net (retries that came due,
leases that expired, events committed by other processes). Either may run at any
time: claims in the database, not the timing of these calls, keep sends exactly
leased once.
"""

import logging
import os
import secrets
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
from sqlalchemy import Engine
from sqlmodel import Session

from automations.actions.base import Action, Outcome, Target
from automations.actions.noop import DoNothingAction
from automations.actions.slack import SlackNotificationAction
from automations.actions.webhook import SendWebhookAction
from automations.bus import CHANNEL
from automations.clock import utcnow
from automations.delivery import (
    Claim,
    DeliveryConfig,
    claim_due,
    defer,
    hold_integration,
    record_outcome,
    reserve_slack_slot,
)
from automations.egress import EgressPolicy, guarded_client
from automations.models import Integration
from automations.secrets import SecretBox

log = logging.getLogger("strata.automations")


class DeliveryWorker:
    def __init__(
        self,
        engine: Engine,
        config: DeliveryConfig,
        box: SecretBox,
        policy: EgressPolicy,
        *,
        concurrency: int = 16,
    ) -> None:
        self.name = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        self.engine = engine
        self._config, self._box = config, box
        timeout = httpx.Timeout(config.timeout_seconds, connect=min(5.0, config.timeout_seconds))
        self._client = guarded_client(policy, timeout)
        self._actions: dict[str, Action] = {
            "webhook": SendWebhookAction(self._client),
            "notification": SlackNotificationAction(self._client),
            "no_op": DoNothingAction(),
        }
        self._sends = ThreadPoolExecutor(concurrency, thread_name_prefix="strata-send")
        self._claims = ThreadPoolExecutor(1, thread_name_prefix="strata-claim")
        self._lock = threading.Lock()
        self._free = concurrency
        self._running = self._dirty = self._closed = False

    # ---- when to claim ----------------------------------------------------------------

    def wake(self) -> None:
        """Claim now, on the worker's own thread (cheap to call from a request)."""
        if self._reserve_loop():
            self._claims.submit(self._claim_loop)

    def tick(self) -> None:
        """Claim now, on the caller's thread (the scheduler's periodic job)."""
        if self._reserve_loop():
            self._claim_loop()

    def _reserve_loop(self) -> bool:
        with self._lock:
            self._dirty = True
            if self._running or self._closed:
                return False  # the running loop sees `_dirty` and claims again
            self._running = True
            return True

    def _claim_loop(self) -> None:
        try:
            while True:
                with self._lock:
                    self._dirty, free = False, self._free
                claimed = self._claim(free) if free else 0
                with self._lock:
                    if self._closed or not (self._dirty or (free and claimed == free)):
                        self._running = False
                        return
        except Exception:
            log.exception("claiming deliveries failed; the next tick retries")
            with self._lock:
                self._running = False

    def _claim(self, limit: int) -> int:
        with Session(self.engine) as session:
            claims = claim_due(session, self.name, limit, self._config.lease_seconds)
            session.commit()
        for claim in claims:
            with self._lock:
                self._free -= 1
            self._sends.submit(self._send, claim)
        return len(claims)

    # ---- sending ----------------------------------------------------------------------

    def _send(self, claim: Claim) -> None:
        started = utcnow()
        try:
            target = self._target(claim.integration_id)
            if claim.message.kind == "notification" and target is not None:
                with Session(self.engine) as session:
                    opens = reserve_slack_slot(session, target.id)
                    if opens is not None:
                        defer(session, claim, opens)
                    session.commit()
                if opens is not None:
                    return
            outcome = self._act(claim, target)
            with Session(self.engine) as session:
                record_outcome(session, claim, outcome, self._config, started)
                if target is not None and target.kind == "slack" and outcome.status_code == 429:
                    hold_integration(session, target.id, outcome.retry_after or 1.0)
                session.commit()
        except Exception:
            log.exception(
                "delivery %s: recording failed; its lease will expire and retry",
                claim.message.message_id,
            )
        finally:
            with self._lock:
                self._free += 1
            self.wake()

    def _act(self, claim: Claim, target: Target | None) -> Outcome:
        if claim.message.kind != "no_op" and target is None:
            return Outcome(False, error="the integration of this automation no longer exists")
        try:
            return self._actions[claim.message.kind].act(claim.message, target)
        except Exception as exc:  # a bug or a bad secret: recorded, retried per schedule
            return Outcome(False, error=f"{type(exc).__name__}: {exc}", retryable=True)

    def _target(self, integration_id: int | None) -> Target | None:
        if integration_id is None:
            return None
        with Session(self.engine) as session:
            row = session.get(Integration, integration_id)
        if row is None:
            return None
        secret, token = self._box.open(row.secret), self._box.open(row.access_token)
        if row.kind == "slack":  # the secret is the incoming-webhook URL itself
            return Target(row.id, row.kind, secret or "", channel=row.channel)  # type: ignore[arg-type]
        return Target(row.id, row.kind, row.url, secret, token)  # type: ignore[arg-type]

    # ---- other processes' events (PostgreSQL) ----------------------------------------------

    def listen(self) -> None:
        """On PostgreSQL, wake on every commit that queued deliveries in any process
        (LISTEN/NOTIFY); elsewhere the scheduler's poll is the only cross-process path."""
        if self.engine.dialect.name != "postgresql":
            return
        thread = threading.Thread(target=self._listen_loop, name="strata-listen", daemon=True)
        thread.start()

    def _listen_loop(self) -> None:
        import psycopg

        url = self.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        while not self._closed:
            try:
                with psycopg.connect(url, autocommit=True) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self.wake()  # anything committed while we were not listening
                    while not self._closed:
                        for _ in conn.notifies(timeout=1.0, stop_after=1):
                            self.wake()
            except psycopg.Error:
                log.warning("lost the PostgreSQL notification connection; reconnecting")
                time.sleep(1.0)

    def close(self) -> None:
        with self._lock:
            self._closed = True
        self._claims.shutdown(wait=True)
        self._sends.shutdown(wait=True)
        self._client.close()
