"""Stores that let several Rasa instances serve the same conversations through Redis.

- ``EncryptedRedisTrackerStore``: each conversation is one Redis key holding the tracker
  sealed with AES-256-GCM (nlu/tracker_sealing.py). Redis expires it after the quiet period,
  and the bot's wipe (quick exit, /xoa) deletes it for every instance at once.
- ``FailSoftRedisLockStore``: Rasa's Redis lock store, so two instances never process the
  same conversation at once.

Both keep answering when Redis is unreachable: they fall back to this instance's memory
(one log line when Redis goes and one when it comes back). The bot routes a conversation to
the same instance while it is healthy, so a Redis outage costs only cross-instance hand-over.

It runs inside Rasa (Python 3.10); it must not import ``bot``.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Callable, Dict, Iterable

import redis
from rasa.core.brokers.broker import EventBroker
from rasa.core.lock import TicketLock
from rasa.core.lock_store import InMemoryLockStore, RedisLockStore
from rasa.core.tracker_store import SerializedTrackerAsText, TrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import (
    DialogueStateTracker,
    get_trackers_for_conversation_sessions,
)
from rasa.utils.endpoints import EndpointConfig

from nlu.tracker_sealing import SealError, TrackerSeal
from nlu.tracker_store import ExpiringInMemoryTrackerStore

log = logging.getLogger(__name__)

REDIS_TIMEOUT_S = 1.0  # a stalled Redis must not hold a turn past the bot's own timeout


def _client(host: str | None, port: Any, db: Any, password: str | None) -> redis.Redis:
    return redis.StrictRedis(host=host or "localhost", port=int(port or 6379), db=int(db or 0),
                             password=password or None, socket_timeout=REDIS_TIMEOUT_S,
                             socket_connect_timeout=REDIS_TIMEOUT_S)


class _Outage:
    """Logs once when Redis becomes unreachable and once when it is back."""

    def __init__(self, what: str) -> None:
        self._what = what
        self.active = False

    def failed(self, error: Exception) -> None:
        if not self.active:
            log.warning("redis unreachable (%s): %s falls back to this instance's memory",
                        type(error).__name__, self._what)
        self.active = True

    def ok(self) -> None:
        if self.active:
            log.warning("redis reachable again: %s is shared again", self._what)
        self.active = False


class EncryptedRedisTrackerStore(TrackerStore, SerializedTrackerAsText):
    def __init__(
        self,
        domain: Domain,
        host: str | None = None,
        port: int = 6379,
        db: int = 0,
        password: str | None = None,
        key_prefix: str = "antam",
        quiet_minutes: float = 30,
        event_broker: EventBroker | None = None,
        seal: TrackerSeal | None = None,
        client: redis.Redis | None = None,
        clock: Callable[[], float] = time.monotonic,
        **kwargs: Dict[str, Any],
    ) -> None:
        super().__init__(domain, event_broker, **kwargs)
        self._red = client or _client(host, port, db, password)
        self._prefix = f"{key_prefix}:tracker:"
        self._seal = seal or TrackerSeal.from_env()
        self._ttl_s = max(1, int(float(quiet_minutes) * 60))
        self._local = ExpiringInMemoryTrackerStore(domain, quiet_minutes=quiet_minutes,
                                                   clock=clock)
        self._outage = _Outage("the tracker store")

    def _key(self, sender_id: str) -> str:
        return self._prefix + sender_id

    async def save(self, tracker: DialogueStateTracker) -> None:
        key = self._key(tracker.sender_id)
        if not tracker.events:  # the bot wiped the conversation
            await self._local.save(tracker)
            self._redis(lambda: self._red.delete(key))
            return
        blob = self._seal.seal(key, self.serialise_tracker(tracker).encode())
        if self._redis(lambda: self._red.set(key, blob, ex=self._ttl_s)) is _FAILED:
            await self._local.save(tracker)
            return
        await self._local.save(DialogueStateTracker.from_events(tracker.sender_id, []))

    async def retrieve(self, sender_id: str) -> DialogueStateTracker | None:
        return await self._retrieve(sender_id, fetch_all_sessions=False)

    async def retrieve_full_tracker(self, sender_id: str) -> DialogueStateTracker | None:
        return await self._retrieve(sender_id, fetch_all_sessions=True)

    async def _retrieve(self, sender_id: str,
                        fetch_all_sessions: bool) -> DialogueStateTracker | None:
        local = await self._local._retrieve(sender_id, fetch_all_sessions)
        key = self._key(sender_id)
        blob = self._redis(lambda: self._red.get(key))
        if local is not None or blob is _FAILED or blob is None:
            return local  # what this instance kept during an outage is the newest
        try:
            text = self._seal.open(key, blob)
        except SealError as error:
            log.warning("a shared conversation could not be opened (%s): it starts afresh",
                        error)
            self._redis(lambda: self._red.delete(key))
            return None
        tracker = self.deserialise_tracker(sender_id, text)
        if fetch_all_sessions or tracker is None:
            return tracker
        return get_trackers_for_conversation_sessions(tracker)[-1]

    async def keys(self) -> Iterable[str]:
        found = self._redis(lambda: [k.decode()[len(self._prefix):]
                                     for k in self._red.scan_iter(self._prefix + "*")])
        shared = [] if found is _FAILED else found
        return sorted(set(shared) | set(await self._local.keys()))

    def _redis(self, call: Callable[[], Any]) -> Any:
        try:
            result = call()
        except redis.RedisError as error:
            self._outage.failed(error)
            return _FAILED
        self._outage.ok()
        return result


_FAILED = object()  # a Redis call that did not go through


class FailSoftRedisLockStore(RedisLockStore):
    """Rasa's Redis lock store, falling back to a per-instance lock while Redis is away."""

    def __init__(self, endpoint_config: EndpointConfig) -> None:
        options = endpoint_config.kwargs
        super().__init__(host=endpoint_config.url or "localhost",
                         port=int(options.get("port") or 6379), db=int(options.get("db") or 0),
                         password=options.get("password") or None,
                         key_prefix=options.get("key_prefix"), socket_timeout=REDIS_TIMEOUT_S)
        self._local = InMemoryLockStore()
        self._outage = _Outage("conversation locking")

    def get_lock(self, conversation_id: str) -> TicketLock | None:
        return self._either(lambda: super(FailSoftRedisLockStore, self).get_lock(conversation_id),
                            lambda: self._local.get_lock(conversation_id))

    def delete_lock(self, conversation_id: str) -> None:
        self._local.delete_lock(conversation_id)
        self._either(lambda: super(FailSoftRedisLockStore, self).delete_lock(conversation_id),
                     lambda: None)

    def save_lock(self, lock: TicketLock) -> None:
        self._either(lambda: super(FailSoftRedisLockStore, self).save_lock(lock),
                     lambda: self._local.save_lock(lock))

    def _either(self, shared: Callable[[], Any], local: Callable[[], Any]) -> Any:
        try:
            result = shared()
        except redis.RedisError as error:
            self._outage.failed(error)
            return local()
        self._outage.ok()
        return result
