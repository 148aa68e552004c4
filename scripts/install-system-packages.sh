#!/bin/sh
# Debian packages the tests need: etcd 3.4 (server and etcdctl), BusyBox and dash, util-linux
# (unshare and setpriv: the lab runs pods the kubelet's way), iptables (the lab's network
# partitions), prometheus for promtool, awscli for the snapshot upload script, openssl for the
# peer TLS drills' certificates.
# Installs only what is missing; needs root (or sudo) the first time.
set -eu
packages="etcd-server etcd-client busybox dash util-linux iptables prometheus awscli openssl"
missing=""
for package in $packages; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
        missing="$missing $package"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -eq 0 ]; then
    run=""
elif command -v sudo >/dev/null 2>&1; then
    run="sudo"
else
    echo "error: need root to install:$missing (run: apt-get install$missing)" >&2
    exit 1
fi
echo "installing:$missing"
$run apt-get update -qq
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive $run apt-get install -y -qq --no-install-recommends $missing >/dev/null
