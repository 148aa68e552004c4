"""A small etcd v3 client over etcd's JSON gateway (HTTP/1.1, keep-alive).

Chosen over a gRPC client because it needs nothing beyond the standard library, speaks to every
etcd from 3.4 to 3.6 on the same `/v3/` paths, and the maintained-looking gRPC clients on PyPI
pin protobuf versions that conflict with Pulumi's. Not thread-safe: one client per thread.
"""

from __future__ import annotations

import base64
import http.client
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

NOSPACE_MESSAGE = "database space exceeded"


class EtcdError(Exception):
    """etcd answered with an error (its message is kept verbatim)."""

    @property
    def is_nospace(self) -> bool:
        return NOSPACE_MESSAGE in str(self)


@dataclass(frozen=True)
class MemberStatus:
    member_id: int
    leader_id: int
    db_size: int
    db_size_in_use: int
    revision: int
    version: str
    is_learner: bool = False


@dataclass(frozen=True)
class Member:
    member_id: int
    name: str  # empty until the member has started
    peer_urls: tuple[str, ...]
    is_learner: bool


@dataclass(frozen=True)
class Alarm:
    member_id: int
    kind: str  # NOSPACE, CORRUPT


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _unb64(text: str) -> str:
    return base64.b64decode(text).decode()


# What etcd answers a request without a valid token while auth is on: log in (again) and retry,
# as Go's clientv3 does (its retry interceptor refreshes the token on these).
TOKEN_REFUSALS = ("user name is empty", "invalid auth token")
AUTH_NOT_ENABLED = "authentication is not enabled"


class EtcdHttpClient:
    def __init__(
        self, client_url: str, timeout_s: float = 5.0, credentials: tuple[str, str] | None = None
    ) -> None:
        """`credentials`: (user, password) to log in with. While auth is off etcd answers the
        login with "authentication is not enabled", and requests go without a token, as Go's
        clientv3 does; once auth is on, a refused request logs in and is sent once more."""
        parts = urlsplit(client_url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"expected an http:// client URL, got {client_url!r}")
        self.client_url = client_url
        self._host = parts.hostname
        self._port = parts.port or 2379
        self._timeout_s = timeout_s
        self._connection: http.client.HTTPConnection | None = None
        self._credentials = credentials
        self._token: str | None = None

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def __enter__(self) -> EtcdHttpClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def call(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST a gateway request; raise EtcdError on an etcd error, OSError on transport failure."""
        if self._credentials is None:
            return self._post(path, body)
        if self._token is None:
            self._log_in()
        try:
            return self._post(path, body)
        except EtcdError as error:
            if not any(refusal in str(error) for refusal in TOKEN_REFUSALS):
                raise
        self._log_in()
        return self._post(path, body)

    def _log_in(self) -> None:
        assert self._credentials is not None
        user, password = self._credentials
        self._token = None
        try:
            answer = self._post("/v3/auth/authenticate", {"name": user, "password": password})
        except EtcdError as error:
            if AUTH_NOT_ENABLED in str(error):
                return
            raise
        self._token = str(answer["token"])

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        payload = json.dumps(body).encode()
        headers = {"Content-Type": "application/json"}
        if self._token is not None:
            headers["Authorization"] = self._token
        for attempt in (1, 2):
            if self._connection is None:
                self._connection = http.client.HTTPConnection(self._host, self._port, timeout=self._timeout_s)
            try:
                self._connection.request("POST", path, payload, headers)
                response = self._connection.getresponse()
                data = response.read()
                break
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                # A kept-alive connection the server closed: retry once on a new one.
                self.close()
                if attempt == 2:
                    raise
            except (OSError, http.client.HTTPException):
                self.close()
                raise
        answer: dict[str, Any] = json.loads(data) if data else {}
        if response.status != 200 or "error" in answer:
            raise EtcdError(answer.get("message") or answer.get("error") or f"HTTP {response.status}")
        return answer

    def put(self, key: str, value: str) -> int:
        """Store `value` at `key`; returns the revision of the write."""
        answer = self.call("/v3/kv/put", {"key": _b64(key), "value": _b64(value)})
        return int(answer["header"]["revision"])

    def get(self, key: str) -> str | None:
        answer = self.call("/v3/kv/range", {"key": _b64(key)})
        kvs = answer.get("kvs") or []
        return _unb64(kvs[0].get("value", "")) if kvs else None

    def get_prefix(self, prefix: str) -> dict[str, str]:
        end = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        answer = self.call("/v3/kv/range", {"key": _b64(prefix), "range_end": _b64(end)})
        return {_unb64(kv["key"]): _unb64(kv.get("value", "")) for kv in answer.get("kvs") or []}

    def status(self) -> MemberStatus:
        answer = self.call("/v3/maintenance/status", {})
        return MemberStatus(
            member_id=int(answer["header"]["member_id"]),
            leader_id=int(answer.get("leader", 0)),
            db_size=int(answer.get("dbSize", 0)),
            db_size_in_use=int(answer.get("dbSizeInUse", 0)),
            revision=int(answer["header"].get("revision", 0)),
            version=str(answer.get("version", "")),
            is_learner=bool(answer.get("isLearner", False)),
        )

    def move_leader(self, target_id: int) -> None:
        """Hand leadership to member `target_id` (etcd's MoveLeader); only the leader takes it."""
        self.call("/v3/maintenance/transfer-leadership", {"targetID": str(target_id)})

    def members(self) -> list[Member]:
        """The cluster's membership as this member knows it."""
        answer = self.call("/v3/cluster/member/list", {})
        return [
            Member(
                int(member["ID"]),
                str(member.get("name", "")),
                tuple(member.get("peerURLs", [])),
                bool(member.get("isLearner", False)),
            )
            for member in answer.get("members") or []
        ]

    def alarms(self) -> list[Alarm]:
        answer = self.call("/v3/maintenance/alarm", {"action": "GET"})
        return [
            Alarm(int(alarm.get("memberID", 0)), str(alarm.get("alarm", "NONE")))
            for alarm in answer.get("alarms") or []
        ]
