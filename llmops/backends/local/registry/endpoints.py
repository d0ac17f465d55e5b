"""Endpoints, their deployments and the history of their traffic maps, in the local registry.

Every change bumps the endpoint's `version` counter; a running server compares that one integer on
each request and reloads only when it moved, so `traffic --set`, `rollback` and `deploy` act on a
running server without a restart. Rollback marks the current map rolled back, so the one before it
applies again (and a second rollback goes one further back).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from llmops.backends.canary import CanaryDecision
from llmops.backends.endpoints import Deployment, DeploymentInUse, Endpoint, TrafficMap
from llmops.backends.local.registry import canary_log, db
from llmops.backends.traffic import Split, check_split
from llmops.errors import LlmopsError, unknown_name

SCHEMA = """
CREATE TABLE IF NOT EXISTS endpoints (
    name TEXT PRIMARY KEY, use_case TEXT NOT NULL, env TEXT NOT NULL, provider TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT NULL, updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS deployments (
    endpoint TEXT NOT NULL, name TEXT NOT NULL, model_name TEXT NOT NULL, model_version INTEGER NOT NULL,
    flow TEXT NOT NULL, variant TEXT NOT NULL, variant_label TEXT NOT NULL, env_vars TEXT NOT NULL,
    created_at TEXT NOT NULL, PRIMARY KEY (endpoint, name)
);
CREATE TABLE IF NOT EXISTS traffic_maps (
    endpoint TEXT NOT NULL, seq INTEGER NOT NULL, live TEXT NOT NULL, mirror TEXT NOT NULL, reason TEXT NOT NULL,
    rolled_back INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT NULL, PRIMARY KEY (endpoint, seq)
);
"""


def _now(timespec: str = "seconds") -> str:
    return datetime.now(UTC).isoformat(timespec=timespec)


@contextmanager
def _connect(state_dir: Path) -> Iterator[sqlite3.Connection]:
    with db.connect(state_dir) as conn:
        conn.executescript(SCHEMA)
        yield conn


def _bump(conn: sqlite3.Connection, endpoint: str) -> None:
    conn.execute("UPDATE endpoints SET version = version + 1, updated_at=? WHERE name=?", (_now(), endpoint))


def _deployment(row: Any) -> Deployment:
    return Deployment(row["endpoint"], row["name"], row["model_name"], row["model_version"], row["flow"],
                      json.loads(row["variant"]), row["variant_label"], json.loads(row["env_vars"]), row["created_at"])


def _traffic(row: Any) -> TrafficMap:
    return TrafficMap(row["seq"], Split(json.loads(row["live"]), json.loads(row["mirror"])), row["reason"],
                      bool(row["rolled_back"]), row["created_at"])


def _active_maps(conn: sqlite3.Connection, endpoint: str) -> list[TrafficMap]:
    rows = conn.execute("SELECT * FROM traffic_maps WHERE endpoint=? AND rolled_back=0 ORDER BY seq DESC",
                        (endpoint,)).fetchall()
    return [_traffic(r) for r in rows]


def _load(conn: sqlite3.Connection, name: str) -> Endpoint:
    row = conn.execute("SELECT * FROM endpoints WHERE name=?", (name,)).fetchone()
    if row is None:
        known = [r[0] for r in conn.execute("SELECT name FROM endpoints")]
        raise unknown_name("endpoint", name, known, "Start it with: llmops endpoint up --use-case <name> --env <env>")
    deployments = tuple(_deployment(r) for r in conn.execute(
        "SELECT * FROM deployments WHERE endpoint=? ORDER BY name", (name,)))
    active = _active_maps(conn, name)
    return Endpoint(row["name"], row["use_case"], row["env"], row["provider"], row["version"], deployments,
                    active[0] if active else None)


def ensure_endpoint(state_dir: Path, name: str, use_case: str, env: str, provider: str) -> Endpoint:
    """Create the endpoint, or record the provider a new server process runs with."""
    with _connect(state_dir) as conn, db.transaction(conn):
        row = conn.execute("SELECT * FROM endpoints WHERE name=?", (name,)).fetchone()
        if row is None:
            conn.execute("INSERT INTO endpoints VALUES (?,?,?,?,?,?,?)",
                         (name, use_case, env, provider, 1, _now(), _now()))
        elif (row["use_case"], row["env"]) != (use_case, env):
            raise LlmopsError(f"endpoint '{name}' belongs to use case '{row['use_case']}' env '{row['env']}', not "
                              f"'{use_case}' env '{env}'; give this env its own ENDPOINT_NAME in "
                              "configs/deployment_config.json")
        elif row["provider"] != provider:
            conn.execute("UPDATE endpoints SET provider=? WHERE name=?", (provider, name))
            _bump(conn, name)
        return _load(conn, name)


def get_endpoint(state_dir: Path, name: str) -> Endpoint:
    with _connect(state_dir) as conn:
        # One read transaction: the counter, deployments and map come from the same committed state.
        conn.execute("BEGIN")
        try:
            return _load(conn, name)
        finally:
            conn.execute("COMMIT")


def put_deployment(state_dir: Path, deployment: Deployment) -> Deployment:
    """Create a deployment, or replace one that takes no traffic; it takes no traffic until a map gives it some."""
    with _connect(state_dir) as conn, db.transaction(conn):
        endpoint = _load(conn, deployment.endpoint)
        existing = next((d for d in endpoint.deployments if d.name == deployment.name), None)
        busy = endpoint.split.live.get(deployment.name, 0) or endpoint.split.mirror.get(deployment.name, 0)
        if existing is not None and busy and not existing.same_release(deployment):
            raise DeploymentInUse(existing, endpoint.split)
        created = deployment if existing is None or not existing.same_release(deployment) else existing
        if created is deployment:
            created = replace(deployment, created_at=_now())
            conn.execute("INSERT OR REPLACE INTO deployments VALUES (?,?,?,?,?,?,?,?,?)",
                         (created.endpoint, created.name, created.model_name, created.model_version, created.flow,
                          json.dumps(created.variant, sort_keys=True), created.variant_label,
                          json.dumps(created.env_vars, sort_keys=True), created.created_at))
            _bump(conn, deployment.endpoint)
        return created


def remove_deployment(state_dir: Path, endpoint_name: str, name: str) -> None:
    with _connect(state_dir) as conn, db.transaction(conn):
        endpoint = _load(conn, endpoint_name)
        endpoint.deployment(name)
        if endpoint.split.live.get(name, 0) or endpoint.split.mirror.get(name, 0):
            raise LlmopsError(f"deployment '{name}' of endpoint '{endpoint_name}' still takes traffic "
                              f"({endpoint.split.describe()}); shift its traffic away first")
        conn.execute("DELETE FROM deployments WHERE endpoint=? AND name=?", (endpoint_name, name))
        _bump(conn, endpoint_name)


def set_split(state_dir: Path, endpoint_name: str, split: Split, reason: str) -> TrafficMap:
    """Validate the whole map against the endpoint's deployments, then make it current (in one transaction)."""
    with _connect(state_dir) as conn, db.transaction(conn):
        endpoint = _load(conn, endpoint_name)
        check_split(split, [d.name for d in endpoint.deployments], endpoint_name)
        if endpoint.traffic is not None and endpoint.traffic.split == split:
            return endpoint.traffic
        seq = (conn.execute("SELECT MAX(seq) FROM traffic_maps WHERE endpoint=?", (endpoint_name,)).fetchone()[0]
               or 0) + 1
        conn.execute("INSERT INTO traffic_maps VALUES (?,?,?,?,?,?,?)",
                     (endpoint_name, seq, json.dumps(split.live, sort_keys=True),
                      json.dumps(split.mirror, sort_keys=True), reason, 0,
                      # to the millisecond, as the production log's entries are: a canary watch counts the requests
                      # logged from the moment its map took effect, not from the start of that second
                      _now("milliseconds")))
        _bump(conn, endpoint_name)
        return _active_maps(conn, endpoint_name)[0]


def rollback(state_dir: Path, endpoint_name: str) -> tuple[TrafficMap, TrafficMap]:
    """Make the previous traffic map current again; returns (the map rolled back, the map restored)."""
    with _connect(state_dir) as conn, db.transaction(conn):
        endpoint = _load(conn, endpoint_name)
        active = _active_maps(conn, endpoint_name)
        if len(active) < 2:
            raise LlmopsError(f"endpoint '{endpoint_name}' has no earlier traffic map to roll back to "
                              f"(current: {endpoint.split.describe()}); set one with: llmops endpoint traffic --set")
        current, previous = active[0], active[1]
        check_split(previous.split, [d.name for d in endpoint.deployments], endpoint_name)
        conn.execute("UPDATE traffic_maps SET rolled_back=1 WHERE endpoint=? AND seq=?", (endpoint_name, current.seq))
        _bump(conn, endpoint_name)
        return current, previous


def history(state_dir: Path, endpoint_name: str) -> list[TrafficMap]:
    with _connect(state_dir) as conn:
        _load(conn, endpoint_name)
        rows = conn.execute("SELECT * FROM traffic_maps WHERE endpoint=? ORDER BY seq", (endpoint_name,)).fetchall()
    return [_traffic(r) for r in rows]


class VersionReader:
    """The endpoint's change counter through one long-lived read connection: one indexed read per request."""

    def __init__(self, state_dir: Path, endpoint_name: str) -> None:
        with _connect(state_dir):  # create the tables once
            pass
        self._conn = sqlite3.connect(db.registry_path(state_dir), timeout=30, check_same_thread=False,
                                     isolation_level=None)
        self._conn.execute("PRAGMA busy_timeout=30000")
        self._endpoint = endpoint_name
        self._lock = threading.Lock()

    def current(self) -> int:
        with self._lock:
            row = self._conn.execute("SELECT version FROM endpoints WHERE name=?", (self._endpoint,)).fetchone()
        return int(row[0]) if row else 0

    def close(self) -> None:
        with self._lock:
            self._conn.close()


@dataclass(frozen=True)
class LocalEndpointRegistry:
    """The EndpointRegistry protocol (llmops/backends/protocols.py) on the state directory's database."""

    state_dir: Path

    def ensure_endpoint(self, name: str, use_case: str, env: str, provider: str) -> Endpoint:
        return ensure_endpoint(self.state_dir, name, use_case, env, provider)

    def get_endpoint(self, name: str) -> Endpoint:
        return get_endpoint(self.state_dir, name)

    def put_deployment(self, deployment: Deployment) -> Deployment:
        return put_deployment(self.state_dir, deployment)

    def remove_deployment(self, endpoint: str, name: str) -> None:
        remove_deployment(self.state_dir, endpoint, name)

    def set_split(self, endpoint: str, split: Split, reason: str) -> TrafficMap:
        return set_split(self.state_dir, endpoint, split, reason)

    def rollback(self, endpoint: str) -> tuple[TrafficMap, TrafficMap]:
        return rollback(self.state_dir, endpoint)

    def history(self, endpoint: str) -> list[TrafficMap]:
        return history(self.state_dir, endpoint)

    def record_decision(self, decision: CanaryDecision) -> CanaryDecision:
        return canary_log.record(self.state_dir, decision)

    def decisions(self, endpoint: str, limit: int | None = None) -> list[CanaryDecision]:
        return canary_log.decisions(self.state_dir, endpoint, limit)
