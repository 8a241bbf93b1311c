"""DoNothing: the firing is recorded as a delivery; nothing is sent."""

from automations.actions.base import Message, Outcome, Target


class DoNothingAction:
    def act(self, message: Message, target: Target | None) -> Outcome:
        return Outcome(True, latency_ms=0.0)
