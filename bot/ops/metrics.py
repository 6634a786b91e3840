"""Prometheus metrics of the bot process: what an operator needs, nothing about anyone.

Labels are fixed, small sets (a channel name, a service name, a reply kind); no
label ever carries a message, an intent, a pseudonym or a platform id, so a scrape
cannot be joined back to a person. Each process has its own registry, exposed at
/metrics by the API server (bot/ops/http.py).
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from bot.replies import TurnResult

# Turn latency buckets around the 100 ms crisis target and Rasa's 2 s timeout.
TURN_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 2.5, 5.0)
CHANNELS = ("console", "telegram", "zalo", "bench")


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.turns = Counter("antam_turns", "Turns answered, by channel and outcome",
                             ["channel", "outcome"], registry=r)
        self.turn_seconds = Histogram("antam_turn_seconds", "Time to a turn's whole answer",
                                      ["channel"], buckets=TURN_BUCKETS, registry=r)
        self.emergency = Counter("antam_emergency_replies",
                                 "Emergency replies: sent early (before the answer) or in it",
                                 ["path"], registry=r)
        self.rasa_in_flight = Gauge("antam_rasa_turns_in_flight",
                                    "Turns sent to Rasa and not yet answered", registry=r)
        self.rasa_waiting = Gauge("antam_rasa_turns_waiting",
                                  "Of those, turns waiting for a free slot at their instance",
                                  registry=r)
        self._in_flight: list[Callable[[], int]] = []
        self._waiting: list[Callable[[], int]] = []
        self.rasa_in_flight.set_function(lambda: _total(self._in_flight))
        self.rasa_waiting.set_function(lambda: _total(self._waiting))
        self.service_up = Gauge("antam_service_up",
                                "1 if the service answered its last health check",
                                ["service"], registry=r)
        self.waiting_cases = Gauge("antam_escalations_waiting",
                                   "Escalated cases no counselor has claimed yet", registry=r)
        self.outbox_depth = Gauge("antam_outbox_depth",
                                  "Messages accepted for delivery outside a turn, not yet sent",
                                  registry=r)
        self.oldest_wait = Gauge("antam_escalation_oldest_wait_seconds",
                                 "How long the longest-waiting unclaimed case has waited",
                                 registry=r)

    def turn(self, channel: str, result: TurnResult, seconds: float, early: bool) -> None:
        """Count one answered turn (never its content)."""
        channel = channel if channel in CHANNELS else "other"
        outcome = ("degraded" if result.degraded else "crisis" if result.crisis
                   else "answered")
        self.turns.labels(channel, outcome).inc()
        self.turn_seconds.labels(channel).observe(seconds)
        if result.crisis:
            self.emergency.labels("early" if early else "in_answer").inc()

    def watch_rasa(self, in_flight: Callable[[], int], waiting: Callable[[], int]) -> None:
        """Add one Rasa client's gauges (each channel's core has its own client)."""
        self._in_flight.append(in_flight)
        self._waiting.append(waiting)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


def _total(gauges: list[Callable[[], int]]) -> float:
    return float(sum(gauge() for gauge in gauges))
