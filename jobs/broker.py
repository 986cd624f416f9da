"""The Dramatiq broker, from configuration (DESIGN §3).

With a Redis URL, a RedisBroker: the web app and the scheduler enqueue, ``dramatiq jobs`` workers
consume. Its heartbeat is short, and it looks for dead workers often, so that the messages a killed
worker had taken come back to the queue within seconds rather than minutes.

Without one, the embedded default: dramatiq's StubBroker (an in-memory queue) and a dramatiq
Worker started in this process on the first enqueue. We use dramatiq's own worker rather than a
thread of ours that calls the actor functions so that the actors run under the same middleware
as in production (retries with backoff, time limit), and ``make run`` exercises the code
production runs. Messages held in memory die with the process; that loses nothing, because the
database is the outbox and the next sweep enqueues again what was not sent.
"""
import os
import threading

import dramatiq
import redis
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker
from flask import Config

QUEUE = "default"
# A worker whose last broker command is older than this is dead. Every command refreshes it, and
# a worker's consumers poll at least once a second, so only a stopped (or wedged) process misses it.
HEARTBEAT_TIMEOUT_MS = 10_000
# The share (per million) of broker commands that also look for dead workers and put their
# messages back. Dramatiq's default (1,000: one in a thousand) leaves a quiet queue's messages with
# a dead worker for many minutes; one in five finds them a few seconds after the heartbeat runs out.
MAINTENANCE_CHANCE = 200_000
# Messages that used up their retries stay this long in Redis, for a look; the row is what counts.
DEAD_MESSAGE_TTL_MS = 3 * 24 * 3600 * 1000
EMBEDDED_THREADS = 2

_lock = threading.Lock()
_redis_brokers = {}
_embedded = {"broker": None, "worker": None}
_actors = []
_configured = {"url": None, "broker": None}


def redis_url():
    """``PORTAL_REDIS_URL``, else ``REDIS_URL`` of the instance config file, as the app reads them."""
    if os.environ.get("PORTAL_REDIS_URL"):
        return os.environ["PORTAL_REDIS_URL"]
    from portal.config import instance_path

    settings = Config(instance_path())
    settings.from_pyfile("config.py", silent=True)
    return settings.get("REDIS_URL") or None


def make_redis_broker(url):
    # Short socket timeouts: a Redis that does not answer makes an enqueue fail fast, and the sweep
    # leaves the row for later, instead of hanging the process that enqueues.
    client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=10, health_check_interval=30)
    return RedisBroker(client=client, heartbeat_timeout=HEARTBEAT_TIMEOUT_MS,
                       maintenance_chance=MAINTENANCE_CHANCE, dead_message_ttl=DEAD_MESSAGE_TTL_MS)


def configure(url):
    """Make the broker for ``url`` (None: the embedded one) the global one, with every actor on it.

    Calling it again with the same URL changes nothing, so a worker process that builds the app
    keeps consuming from the broker it started with.
    """
    with _lock:
        if _configured["broker"] is not None and _configured["url"] == url:
            return _configured["broker"]
        if url:
            if url not in _redis_brokers:
                _redis_brokers[url] = make_redis_broker(url)
            broker = _redis_brokers[url]
        else:
            if _embedded["broker"] is None:
                _embedded["broker"] = StubBroker()
            broker = _embedded["broker"]
        dramatiq.set_broker(broker)
        for actor in _actors:
            actor.broker = broker
            broker.declare_actor(actor)
        _configured.update(url=url, broker=broker)
        return broker


def register(actor):
    """Keep ``actor`` on whichever broker ``configure`` sets later."""
    _actors.append(actor)
    return actor


def current():
    return _configured["broker"]


def is_embedded():
    return _configured["url"] is None


def start_embedded_worker():
    """The in-process worker of the embedded default, started once per process."""
    with _lock:
        broker = _embedded["broker"]
        if _embedded["worker"] is None and broker is not None:
            broker.emit_after("process_boot")
            worker = dramatiq.Worker(broker, worker_threads=EMBEDDED_THREADS, worker_timeout=200)
            worker.start()
            _embedded["worker"] = worker


def drain(timeout_ms=60_000):
    """Wait until the in-process worker has run every message enqueued so far (embedded only):
    ``send-reminders`` returns after its emails are out, and tests see them."""
    broker, worker = _embedded["broker"], _embedded["worker"]
    if broker is None or worker is None or not is_embedded():
        return
    broker.join(QUEUE, timeout=timeout_ms, fail_fast=False)
    worker.join()
