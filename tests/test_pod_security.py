"""Every pod we render meets the Pod Security Standard "restricted", rule by rule.

The rules are written from the Kubernetes documentation ("Pod Security Standards", baseline and
restricted profiles), one test per rule, each applied to every pod spec the component can render.
"""

from typing import Any

import pytest

from kafscale_lab.manifests import pod_spec
from tests.support import render_objects

VARIANTS = {
    "defaults": {},
    "memory": {"etcdStorageMemory": "true"},
    "probes-off": {"etcdProbes": "off"},
    "writable-root-custom-user": {"etcdReadOnlyRootFilesystem": "false", "etcdRunAsUser": "1001"},
}


def _pod_specs() -> list[Any]:
    params = []
    for variant, raw in VARIANTS.items():
        for manifest in render_objects(**raw).manifests:
            if manifest["kind"] in ("StatefulSet", "CronJob", "Job"):
                params.append(
                    pytest.param(pod_spec(manifest), id=f"{variant}-{manifest['metadata']['name']}")
                )
    return params


POD_SPECS = _pod_specs()
BASELINE_CAPABILITIES = {
    "AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
    "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT",
}  # fmt: skip
SAFE_SYSCTLS = {
    "kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
}  # fmt: skip
RESTRICTED_VOLUME_SOURCES = {
    "configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected",
    "secret",
}  # fmt: skip
SELINUX_TYPES = {None, "", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"}


def _containers(pod: dict[str, Any]) -> list[dict[str, Any]]:
    return [*pod.get("initContainers", []), *pod["containers"], *pod.get("ephemeralContainers", [])]


def _contexts(pod: dict[str, Any]) -> list[dict[str, Any]]:
    """The pod's security context and every container's, absent ones as empty."""
    return [pod.get("securityContext", {}), *(c.get("securityContext", {}) for c in _containers(pod))]


def test_there_are_pods_of_both_kinds():
    ids = [param.id for param in POD_SPECS]
    assert any(i.endswith("-kafscale-etcd") for i in ids)
    assert any(i.endswith("-kafscale-etcd-maintenance") for i in ids)


# Baseline profile


@pytest.mark.parametrize("pod", POD_SPECS)
def test_baseline_host_process(pod):
    assert all(ctx.get("windowsOptions", {}).get("hostProcess") in (None, False) for ctx in _contexts(pod))


@pytest.mark.parametrize("pod", POD_SPECS)
def test_baseline_host_namespaces(pod):
    assert all(pod.get(field) in (None, False) for field in ("hostNetwork", "hostPID", "hostIPC"))


@pytest.mark.parametrize("pod", POD_SPECS)
def test_baseline_privileged_containers(pod):
    assert all(c.get("securityContext", {}).get("privileged") in (None, False) for c in _containers(pod))


@pytest.mark.parametrize("pod", POD_SPECS)
def test_baseline_capabilities(pod):
    for container in _containers(pod):
        added = set(container.get("securityContext", {}).get("capabilities", {}).get("add", []))
        assert added <= BASELINE_CAPABILITIES


@pytest.mark.parametrize("pod", POD_SPECS)
def test_baseline_host_path_volumes(pod):
    assert all("hostPath" not in volume for volume in pod.get("volumes", []))


@pytest.mark.parametrize("pod", POD_SPECS)
def test_baseline_host_ports(pod):
    for container in _containers(pod):
        assert all(port.get("hostPort", 0) == 0 for port in container.get("ports", []))


@pytest.mark.parametrize("pod", POD_SPECS)
def test_baseline_apparmor(pod):
    for ctx in _contexts(pod):
        assert ctx.get("appArmorProfile", {}).get("type") in (None, "RuntimeDefault", "Localhost")


@pytest.mark.parametrize("pod", POD_SPECS)
def test_baseline_selinux(pod):
    for ctx in _contexts(pod):
        options = ctx.get("seLinuxOptions", {})
        assert options.get("type") in SELINUX_TYPES
        assert options.get("user") is None and options.get("role") is None


@pytest.mark.parametrize("pod", POD_SPECS)
def test_baseline_proc_mount(pod):
    assert all(c.get("securityContext", {}).get("procMount") in (None, "Default") for c in _containers(pod))


@pytest.mark.parametrize("pod", POD_SPECS)
def test_baseline_seccomp_never_unconfined(pod):
    assert all(ctx.get("seccompProfile", {}).get("type") != "Unconfined" for ctx in _contexts(pod))


@pytest.mark.parametrize("pod", POD_SPECS)
def test_baseline_sysctls(pod):
    sysctls = pod.get("securityContext", {}).get("sysctls", [])
    assert {sysctl["name"] for sysctl in sysctls} <= SAFE_SYSCTLS


# Restricted profile


@pytest.mark.parametrize("pod", POD_SPECS)
def test_restricted_volume_types(pod):
    for volume in pod.get("volumes", []):
        assert set(volume) - {"name"} <= RESTRICTED_VOLUME_SOURCES, volume


@pytest.mark.parametrize("pod", POD_SPECS)
def test_restricted_privilege_escalation(pod):
    assert all(c["securityContext"]["allowPrivilegeEscalation"] is False for c in _containers(pod))


@pytest.mark.parametrize("pod", POD_SPECS)
def test_restricted_running_as_non_root(pod):
    pod_level = pod.get("securityContext", {}).get("runAsNonRoot")
    for container in _containers(pod):
        container_level = container.get("securityContext", {}).get("runAsNonRoot")
        assert container_level is True or (pod_level is True and container_level is None)


@pytest.mark.parametrize("pod", POD_SPECS)
def test_restricted_running_as_non_root_user(pod):
    assert all(ctx.get("runAsUser") != 0 for ctx in _contexts(pod))


@pytest.mark.parametrize("pod", POD_SPECS)
def test_restricted_seccomp(pod):
    pod_type = pod.get("securityContext", {}).get("seccompProfile", {}).get("type")
    for container in _containers(pod):
        container_type = container.get("securityContext", {}).get("seccompProfile", {}).get("type")
        assert container_type in ("RuntimeDefault", "Localhost") or (
            pod_type in ("RuntimeDefault", "Localhost") and container_type is None
        )


@pytest.mark.parametrize("pod", POD_SPECS)
def test_restricted_capabilities(pod):
    for container in _containers(pod):
        capabilities = container["securityContext"]["capabilities"]
        assert "ALL" in capabilities["drop"]
        assert set(capabilities.get("add", [])) <= {"NET_BIND_SERVICE"}


# Beyond the standard (the issue's own rules)


@pytest.mark.parametrize("pod", POD_SPECS)
def test_data_volume_stays_writable_for_the_pod_user(pod):
    context = pod["securityContext"]
    assert context["fsGroup"] == context["runAsGroup"] == context["runAsUser"] > 0


def test_root_filesystem_is_read_only_unless_configured_otherwise():
    for param in POD_SPECS:
        (pod,) = param.values
        expected = not param.id.startswith("writable-root")
        assert all(c["securityContext"]["readOnlyRootFilesystem"] is expected for c in _containers(pod))
