"""KafScale's etcd write load, measured second by second.

KafScale stores each partition's next offset at
`/kafscale/topics/<topic>/partitions/<p>/next_offset` as a decimal string and rewrites it on
every produce; consumer groups commit to `/kafscale/consumers/<group>/offsets/<topic>/<p>`.
The driver writes that pattern at a target rate from several threads (each owning a fixed set of
partitions, so every key's offsets rise in order), and once a second records the puts
acknowledged, errors by kind, put latency, and every member's dbSize, dbSizeInUse and alarms.
"""

from __future__ import annotations

import csv
import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from kafscale_lab.etcd_http import EtcdError, EtcdHttpClient

SAMPLE_INTERVAL_S = 1.0
PUT_TIMEOUT_S = 5.0  # a put to a member that lost its peers fails over after this


@dataclass(frozen=True)
class LoadPlan:
    rate: float
    duration_s: float
    topics: int = 1
    partitions: int = 32
    concurrency: int = 8
    consumer_groups: int = 0  # each group commits every partition's offset once per produce round
    credentials: tuple[str, str] | None = None  # the user KafScale's clients log in as (etcdAuth)

    def partition_keys(self) -> list[str]:
        keys = [
            f"/kafscale/topics/topic-{t}/partitions/{p}/next_offset"
            for t in range(self.topics)
            for p in range(self.partitions)
        ]
        keys += [
            f"/kafscale/consumers/group-{g}/offsets/topic-{t}/{p}"
            for g in range(self.consumer_groups)
            for t in range(self.topics)
            for p in range(self.partitions)
        ]
        return keys


@dataclass
class MemberSample:
    db_size: int
    db_size_in_use: int
    alarms: tuple[str, ...]


@dataclass
class SecondSample:
    second: int
    acked: int = 0
    nospace_errors: int = 0
    other_errors: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    members: dict[str, MemberSample] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)  # what each failed put was answered

    def latency_percentile(self, fraction: float) -> float:
        return percentile(self.latencies_ms, fraction)


def percentile(values: list[float], fraction: float) -> float:
    """The value `fraction` of the way up the sorted values (0.0 when there are none)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


@dataclass(frozen=True)
class PutTiming:
    """One put: when it was sent and answered (seconds from the run's start), the client URL of
    the member it was sent to, and whether it failed."""

    began_s: float
    finished_s: float
    member_url: str
    failed: bool

    @property
    def latency_ms(self) -> float:
        return (self.finished_s - self.began_s) * 1000


@dataclass
class LoadResult:
    plan: LoadPlan
    member_names: list[str]
    samples: list[SecondSample]
    acked_values: dict[str, str]  # key -> last value etcd acknowledged
    uncertain_values: dict[str, set[str]]  # key -> failed values that may still have landed
    first_error: str | None = None
    puts: list[PutTiming] = field(default_factory=list)  # every put, in the order answered

    @property
    def total_acked(self) -> int:
        return sum(s.acked for s in self.samples)

    @property
    def total_nospace(self) -> int:
        return sum(s.nospace_errors for s in self.samples)

    @property
    def achieved_rate(self) -> float:
        return self.total_acked / self.plan.duration_s if self.plan.duration_s else 0.0

    def first_nospace_second(self) -> int | None:
        for sample in self.samples:
            alarmed = any("NOSPACE" in m.alarms for m in sample.members.values())
            if sample.nospace_errors or alarmed:
                return sample.second
        return None

    def compactions_seen(self, member: str) -> int:
        """Falls of the member's sampled dbSizeInUse: each is at least one compaction."""
        return count_falls(self.series(member, "db_size_in_use"))

    def series(self, member: str, attribute: str) -> list[int]:
        return [getattr(s.members[member], attribute) for s in self.samples if member in s.members]

    def write_csv(self, path: Path) -> None:
        with path.open("w", newline="") as handle:
            writer = csv.writer(handle)
            header = ["second", "acked", "nospace_errors", "other_errors", "p50_ms", "p99_ms"]
            for name in self.member_names:
                header += [f"{name}_db_size", f"{name}_db_size_in_use", f"{name}_alarms"]
            writer.writerow(header)
            for sample in self.samples:
                row: list[object] = [
                    sample.second,
                    sample.acked,
                    sample.nospace_errors,
                    sample.other_errors,
                    round(sample.latency_percentile(0.50), 3),
                    round(sample.latency_percentile(0.99), 3),
                ]
                for name in self.member_names:
                    member = sample.members.get(name)
                    row += (
                        [member.db_size, member.db_size_in_use, " ".join(member.alarms)]
                        if member
                        else ["", "", ""]
                    )
                writer.writerow(row)


def count_falls(series: list[int]) -> int:
    """How many times a sampled series drops from one sample to the next."""
    return sum(1 for before, after in itertools.pairwise(series) if after < before)


class _Recorder:
    def __init__(self, start: float) -> None:
        self._start = start
        self._lock = threading.Lock()
        self.samples: dict[int, SecondSample] = {}
        self.first_error: str | None = None
        self.puts: list[PutTiming] = []

    def _bucket(self, at: float) -> SecondSample:
        second = int(at - self._start)
        if second not in self.samples:
            self.samples[second] = SecondSample(second)
        return self.samples[second]

    def put_done(self, began: float, at: float, member_url: str, error: Exception | None) -> None:
        with self._lock:
            self.puts.append(PutTiming(began - self._start, at - self._start, member_url, error is not None))
            bucket = self._bucket(at)
            bucket.latencies_ms.append((at - began) * 1000)
            if error is None:
                bucket.acked += 1
            elif isinstance(error, EtcdError) and error.is_nospace:
                bucket.nospace_errors += 1
            else:
                bucket.other_errors += 1
            if error is not None:
                bucket.errors.append(str(error))
                if self.first_error is None:
                    self.first_error = str(error)

    def members_seen(self, at: float, members: dict[str, MemberSample]) -> None:
        with self._lock:
            self._bucket(at).members.update(members)

    def completed(self, seconds: int) -> list[SecondSample]:
        """The samples of the first `seconds` seconds, in order (those that saw anything)."""
        with self._lock:
            return [self.samples[second] for second in sorted(self.samples) if second < seconds]


def _member_unavailable(error: EtcdError) -> bool:
    """An answer that says this member cannot serve the put now (no leader, stopping, a learner)."""
    text = str(error).lower()
    return any(sign in text for sign in ("no leader", "stopped", "learner", "timed out", "not capable"))


def sample_members(client_urls: dict[str, str]) -> dict[str, MemberSample]:
    """dbSize, dbSizeInUse and alarms of each reachable member (name -> client URL)."""
    statuses = {}
    alarms_by_member: dict[int, list[str]] = {}
    for name, url in client_urls.items():
        try:
            with EtcdHttpClient(url, timeout_s=2.0) as client:
                statuses[name] = client.status()
                for alarm in client.alarms():
                    alarms_by_member.setdefault(alarm.member_id, [])
                    if alarm.kind not in alarms_by_member[alarm.member_id]:
                        alarms_by_member[alarm.member_id].append(alarm.kind)
        except (OSError, EtcdError):
            continue
    return {
        name: MemberSample(
            status.db_size, status.db_size_in_use, tuple(alarms_by_member.get(status.member_id, ()))
        )
        for name, status in statuses.items()
    }


def run_load(
    member_urls: dict[str, str],
    plan: LoadPlan,
    on_second: Callable[[SecondSample], None] | None = None,
    until: Callable[[list[SecondSample]], bool] | None = None,
) -> LoadResult:
    """Drive `plan` against the members (name -> client URL); workers spread over members.

    `until`, asked once a second with the seconds completed so far, ends the run early when it
    answers true: a test drives until its property can be judged, however fast this machine is,
    with `plan.duration_s` as the deadline. The result's plan carries the time actually driven.
    """
    keys = plan.partition_keys()
    urls = list(member_urls.values())
    start = time.monotonic()
    recorder = _Recorder(start)
    stop = threading.Event()
    finished = threading.Event()  # the plan's time is up, or `until` is satisfied
    acked: dict[str, str] = {}
    uncertain: dict[str, set[str]] = {}
    ledger_lock = threading.Lock()
    worker_rate = plan.rate / plan.concurrency

    def worker(index: int) -> None:
        own_keys = keys[index :: plan.concurrency]
        if not own_keys:
            return
        offsets = dict.fromkeys(own_keys, 0)
        endpoint = index % len(urls)
        client = EtcdHttpClient(urls[endpoint], timeout_s=PUT_TIMEOUT_S, credentials=plan.credentials)
        try:
            sent = 0
            while not stop.is_set():
                due = start + sent / worker_rate
                wait = due - time.monotonic()
                if wait > 0 and stop.wait(wait):
                    break
                key = own_keys[sent % len(own_keys)]
                value = str(offsets[key] + 1)
                began = time.monotonic()
                sent_to = urls[endpoint]
                error: Exception | None = None
                try:
                    client.put(key, value)
                except (EtcdError, OSError) as caught:
                    error = caught
                    if isinstance(caught, OSError) or _member_unavailable(caught):
                        # As an etcd client does: the next put goes to the next endpoint.
                        client.close()
                        endpoint = (endpoint + 1) % len(urls)
                        client = EtcdHttpClient(
                            urls[endpoint], timeout_s=PUT_TIMEOUT_S, credentials=plan.credentials
                        )
                finished = time.monotonic()
                recorder.put_done(began, finished, sent_to, error)
                with ledger_lock:
                    if error is None:
                        offsets[key] += 1
                        acked[key] = value
                        uncertain.pop(key, None)
                    else:
                        # A failed put may still have landed: a lost response, or the put that
                        # crosses the quota, which etcd applies and then answers NOSPACE.
                        uncertain.setdefault(key, set()).add(value)
                sent += 1
        finally:
            client.close()

    def sampler() -> None:
        tick = 0
        while True:
            due = start + tick * SAMPLE_INTERVAL_S
            if stop.wait(max(0.0, due - time.monotonic())):
                break
            recorder.members_seen(time.monotonic(), sample_members(member_urls))
            if on_second is not None and tick > 0 and (tick - 1) in recorder.samples:
                on_second(recorder.samples[tick - 1])
            if until is not None and tick > 0 and until(recorder.completed(tick)):
                finished.set()
            tick += 1

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(plan.concurrency)]
    threads.append(threading.Thread(target=sampler, daemon=True))
    for thread in threads:
        thread.start()
    finished.wait(plan.duration_s)
    stop.set()
    for thread in threads:
        thread.join()
    driven = replace(plan, duration_s=min(plan.duration_s, time.monotonic() - start))
    # One last look at the members once writes have stopped.
    recorder.members_seen(
        min(time.monotonic(), start + driven.duration_s - 1e-6), sample_members(member_urls)
    )
    samples = [recorder.samples[s] for s in sorted(recorder.samples) if s < int(driven.duration_s + 1)]
    return LoadResult(
        driven, list(member_urls), samples, acked, uncertain, recorder.first_error, recorder.puts
    )


def unreadable_acknowledged_writes(client: EtcdHttpClient, result: LoadResult) -> list[str]:
    """Keys whose stored value is not the last acknowledged one (nor a later uncertain one)."""
    stored = client.get_prefix("/kafscale/")
    problems = []
    for key, value in result.acked_values.items():
        allowed = {value} | result.uncertain_values.get(key, set())
        if stored.get(key) not in allowed:
            problems.append(f"{key}: acknowledged {value}, read {stored.get(key)}")
    return problems
