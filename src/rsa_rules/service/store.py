"""Durable state of the service, in one SQLite file: card feedback, and JWT ids already seen.

Feedback is committed (``synchronous=FULL``, write-ahead log) before the service answers, so
nothing acknowledged is lost on a restart, nor on a power cut. Token ids (``jti``) are kept
until their token expires, across restarts too, so a replayed token is refused even by a
restarted service; they are written on a second connection with ``synchronous=NORMAL`` (safe
against a crash of the service; a power cut may lose the last few ids, of tokens that expire
within minutes), which keeps an fsync off every request. The store is safe to share between
threads (each connection behind its own lock).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

__all__ = ["ServiceStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    received_at TEXT NOT NULL,
    service_id TEXT NOT NULL,
    card TEXT NOT NULL,
    outcome TEXT NOT NULL,
    outcome_timestamp TEXT NOT NULL,
    accepted_suggestions TEXT,
    override_reason TEXT,
    client TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS feedback_card ON feedback (card);
CREATE TABLE IF NOT EXISTS seen_tokens (
    issuer TEXT NOT NULL,
    jti TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (issuer, jti)
);
"""
_PURGE_EVERY = 256


class ServiceStore:
    """Feedback and seen token ids, in SQLite at ``path`` (created if missing)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = _connect(self.path, "FULL")
        self._db.executescript(_SCHEMA)
        self._db.commit()
        self._token_lock = threading.Lock()
        self._tokens = _connect(self.path, "NORMAL")
        self._inserts = 0

    def remember_token(self, issuer: str, jti: str, expires_at: int, now: int) -> bool:
        """Record a token id; False when it was seen before (a replay)."""
        with self._token_lock:
            self._inserts += 1
            try:
                with self._tokens:
                    if self._inserts % _PURGE_EVERY == 0:
                        self._tokens.execute("DELETE FROM seen_tokens WHERE expires_at < ?", (now,))
                    self._tokens.execute(
                        "INSERT INTO seen_tokens (issuer, jti, expires_at) VALUES (?, ?, ?)",
                        (issuer, jti, expires_at),
                    )
            except sqlite3.IntegrityError:
                return False
            return True

    def add_feedback(
        self,
        service_id: str,
        items: Iterable[Mapping[str, Any]],
        *,
        client: str,
        received_at: str,
    ) -> int:
        """Store feedback items (one transaction); the number stored."""
        rows = [
            (
                received_at,
                service_id,
                item["card"],
                item["outcome"],
                item["outcomeTimestamp"],
                _json(item.get("acceptedSuggestions")),
                _json(item.get("overrideReason")),
                client,
            )
            for item in items
        ]
        with self._lock, self._db:
            self._db.executemany(
                "INSERT INTO feedback (received_at, service_id, card, outcome, "
                "outcome_timestamp, accepted_suggestions, override_reason, client) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
        return len(rows)

    def feedback(self, service_id: str | None = None) -> list[dict[str, Any]]:
        """Stored feedback, oldest first (all services, or one)."""
        query = (
            "SELECT received_at, service_id, card, outcome, outcome_timestamp, "
            "accepted_suggestions, override_reason, client FROM feedback"
        )
        arguments: tuple[str, ...] = ()
        if service_id is not None:
            query += " WHERE service_id = ?"
            arguments = (service_id,)
        with self._lock:
            rows = self._db.execute(query + " ORDER BY id", arguments).fetchall()
        out: list[dict[str, Any]] = []
        for row in rows:
            item: dict[str, Any] = {
                "received_at": row[0],
                "service_id": row[1],
                "card": row[2],
                "outcome": row[3],
                "outcomeTimestamp": row[4],
                "client": row[7],
            }
            if row[5] is not None:
                item["acceptedSuggestions"] = json.loads(row[5])
            if row[6] is not None:
                item["overrideReason"] = json.loads(row[6])
            out.append(item)
        return out

    def close(self) -> None:
        with self._token_lock:
            self._tokens.close()
        with self._lock:
            self._db.close()

    def __enter__(self) -> ServiceStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _connect(path: Path, synchronous: str) -> sqlite3.Connection:
    connection = sqlite3.connect(path, check_same_thread=False)
    # The wait comes first: another process (serve --workers) may hold the file a moment.
    connection.execute("PRAGMA busy_timeout=5000")
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute(f"PRAGMA synchronous={synchronous}")
    return connection


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True)
