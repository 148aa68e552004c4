"""A real S3 API for drills and benchmarks: moto's server (PyPI's moto[server], a development
requirement) on a random loopback address."""

from __future__ import annotations

import contextlib
import random
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

MOTO_SERVER = Path(sys.executable).parent / "moto_server"
ACCESS_KEY = "kafscale-test"  # moto accepts any credentials; the CLI needs some to sign
SECRET_KEY = "kafscale-test-secret"
DEADLINE_S = 30.0


def random_loopback() -> str:
    return f"127.{random.randint(1, 254)}.{random.randint(0, 254)}.{random.randint(1, 254)}"


def free_port(address: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((address, 0))
        return probe.getsockname()[1]


def unreachable_endpoint() -> str:
    """An http:// URL on a loopback port where nothing listens."""
    address = random_loopback()
    return f"http://{address}:{free_port(address)}"


@contextlib.contextmanager
def moto_s3(log_path: Path) -> Iterator[str]:
    """moto's S3 server on a random port of a random 127.x.y.z address, polled until it answers;
    yields its URL."""
    if not MOTO_SERVER.exists():
        raise FileNotFoundError(f"{MOTO_SERVER} is missing (requirements-dev.txt installs moto[server])")
    address = random_loopback()
    port = free_port(address)
    url = f"http://{address}:{port}"
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            [str(MOTO_SERVER), "-H", address, "-p", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + DEADLINE_S
            while True:
                assert server.poll() is None, f"moto_server exited with {server.returncode}"
                try:
                    with urllib.request.urlopen(f"{url}/moto-api/", timeout=2):
                        break
                except OSError:
                    assert time.monotonic() < deadline, f"moto_server did not answer on {url}"
                    time.sleep(0.1)
            yield url
        finally:
            server.terminate()
            try:
                server.wait(timeout=DEADLINE_S)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def s3_client(endpoint: str) -> Any:
    import boto3  # installed with moto

    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
    )


def unique_bucket() -> str:
    return f"kafscale-test-{random.getrandbits(48):012x}"


def bucket_keys(s3: Any, bucket: str) -> list[str]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return sorted(item["Key"] for page in pages for item in page.get("Contents", []))
