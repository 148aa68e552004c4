"""Settings of the production hardening: probes, pod security (table-tested, pure)."""

import pytest

from kafscale.config.etcd_versions import excludes_every_nospace_alarm, image_etcd_version, parse_version
from kafscale.config.settings import SettingsError, parse_settings


@pytest.mark.parametrize(
    ("image", "version"),
    [
        ("kubesphere/etcd:3.6.4-0", (3, 6, 4)),
        ("registry.k8s.io/etcd:3.5.21-0", (3, 5, 21)),
        ("quay.io/coreos/etcd:v3.5.1", (3, 5, 1)),
        ("gcr.io/etcd-development/etcd:v3.4.23", (3, 4, 23)),
        ("registry.local:5000/etcd:3.5.1", (3, 5, 1)),
        ("registry.local:5000/etcd", None),
        ("etcd", None),
        ("etcd:latest", None),
        ("etcd@sha256:0123abcd", None),
        ("etcd:3.5.1@sha256:0123abcd", (3, 5, 1)),
        ("etcd:3.5", None),
    ],
)
def test_the_etcd_version_is_read_from_the_image_tag(image, version):
    assert image_etcd_version(image) == version


@pytest.mark.parametrize(
    ("version", "excludes"),
    [
        ("3.3.27", False),
        ("3.4.18", False),
        ("3.4.19", True),
        ("3.4.23", True),
        ("3.5.0", False),
        ("3.5.1", False),
        ("3.5.2", True),
        ("3.6.4", True),
    ],
)
def test_which_versions_exclude_every_nospace_alarm(version, excludes):
    parsed = parse_version(version)
    assert parsed is not None
    assert excludes_every_nospace_alarm(parsed) is excludes


# raw values, settings field, value used, warning fragment (None: no warning)
CASES = [
    ({}, "probes", True, None),
    ({"etcdProbes": "off"}, "probes", False, None),
    ({"etcdProbes": "No"}, "probes", False, None),
    ({"etcdProbes": "maybe"}, "probes", True, 'kafscale:etcdProbes: "maybe" is not one of'),
    (
        {"etcdImage": "quay.io/coreos/etcd:v3.5.1"},
        "probes",
        False,
        'kafscale:etcdProbes: "true" cannot be used with etcd 3.5.1 (quay.io/coreos/etcd:v3.5.1)',
    ),
    (
        {"etcdImage": "quay.io/coreos/etcd:v3.4.18", "etcdProbes": "yes"},
        "probes",
        False,
        'kafscale:etcdProbes: "yes" cannot be used with etcd 3.4.18',
    ),
    ({"etcdImage": "quay.io/coreos/etcd:v3.5.1", "etcdProbes": "off"}, "probes", False, None),
    ({"etcdImage": "registry.k8s.io/etcd:3.5.21-0"}, "probes", True, None),
    ({"etcdImage": "my/etcd:latest"}, "probes", True, None),
    ({}, "run_as_user", 65532, None),
    ({"etcdRunAsUser": "1001"}, "run_as_user", 1001, None),
    ({"etcdRunAsUser": "0"}, "run_as_user", 65532, 'kafscale:etcdRunAsUser: "0" is not a non-root user ID'),
    ({"etcdRunAsUser": "-5"}, "run_as_user", 65532, 'kafscale:etcdRunAsUser: "-5" is not a non-root'),
    ({"etcdRunAsUser": "etcd"}, "run_as_user", 65532, 'kafscale:etcdRunAsUser: "etcd" is not a non-root'),
    ({}, "read_only_root_filesystem", True, None),
    ({"etcdReadOnlyRootFilesystem": "false"}, "read_only_root_filesystem", False, None),
    (
        {"etcdReadOnlyRootFilesystem": "ro"},
        "read_only_root_filesystem",
        True,
        'kafscale:etcdReadOnlyRootFilesystem: "ro" is not one of',
    ),
]


@pytest.mark.parametrize(("raw", "field", "used", "warning"), CASES)
def test_hardening_settings(raw, field, used, warning):
    parsed = parse_settings(raw)
    assert getattr(parsed.settings, field) == used
    # What an image's etcd version risks is warned about on etcdImage: test_etcd_defects.py.
    messages = [w.message for w in parsed.warnings if w.key != "etcdImage"]
    if warning is None:
        assert messages == []
    else:
        assert len(messages) == 1 and messages[0].startswith(warning), messages
        assert messages[0].endswith(f"using {str(used).lower()}"), messages


NAMESPACE_WARNING = (
    'kafscale:etcdClientNamespaces: "Bad_NS" is not a namespace name (a DNS-1123 label): left out; '
    'using ["apps"]'
)
SELECTOR_WARNING = (
    'kafscale:etcdClientPodSelectors: "{bad}" is not a label selector such as '
    'app=kafscale-broker,tier=data: left out; using ["app=ok"]'
)

# raw values -> (namespaces, selectors, warnings)
LIST_CASES = [
    ({}, (), (), []),
    ({"etcdClientNamespaces": "apps, monitoring ,apps"}, ("apps", "monitoring"), (), []),
    ({"etcdClientNamespaces": '["apps", "monitoring"]'}, ("apps", "monitoring"), (), []),
    (
        {"etcdClientNamespaces": "apps,Bad_NS"},
        ("apps",),
        (),
        [NAMESPACE_WARNING],
    ),
    (
        {"etcdClientPodSelectors": "app=kafscale-broker; app.kubernetes.io/name=console,tier=x"},
        (),
        ((("app", "kafscale-broker"),), (("app.kubernetes.io/name", "console"), ("tier", "x"))),
        [],
    ),
    (
        {"etcdClientPodSelectors": '["app=kafscale-broker,tier=x"]'},
        (),
        ((("app", "kafscale-broker"), ("tier", "x")),),
        [],
    ),
    ({"etcdClientPodSelectors": "role="}, (), ((("role", ""),),), []),
    *[
        (
            {"etcdClientPodSelectors": f"app=ok;{bad}"},
            (),
            ((("app", "ok"),),),
            [SELECTOR_WARNING.format(bad=bad)],
        )
        for bad in ("app", "app=x,", "app=x,app=y", "-app=x", "app=bad value", "a/b/c=x", "app!=x")
    ],
]


@pytest.mark.parametrize(("raw", "namespaces", "selectors", "warnings"), LIST_CASES)
def test_network_policy_client_lists(raw, namespaces, selectors, warnings):
    parsed = parse_settings(raw)
    assert parsed.settings.client_namespaces == namespaces
    assert parsed.settings.client_pod_selectors == selectors
    assert [w.message for w in parsed.warnings] == warnings


@pytest.mark.parametrize("raw", ['["apps", 3]', "[apps"])
def test_a_client_namespace_list_that_is_not_a_list_of_strings_is_an_error(raw):
    with pytest.raises(SettingsError, match="kafscale:etcdClientNamespaces"):
        parse_settings({"etcdClientNamespaces": raw})


def test_network_policy_switch():
    assert parse_settings({}).settings.network_policy is True
    assert parse_settings({"etcdNetworkPolicy": "off"}).settings.network_policy is False
    parsed = parse_settings({"etcdNetworkPolicy": "sometimes"})
    assert parsed.settings.network_policy is True
    assert [w.key for w in parsed.warnings] == ["etcdNetworkPolicy"]


@pytest.mark.parametrize(
    ("raw", "monitoring", "labels", "warning"),
    [
        ({}, False, (), None),
        ({"etcdMonitoring": "on"}, True, (), None),
        ({"etcdMonitoring": "perhaps"}, False, (), 'kafscale:etcdMonitoring: "perhaps" is not one of'),
        ({"etcdMonitoringLabels": "release=prometheus, team=streaming"}, False,
         (("release", "prometheus"), ("team", "streaming")), None),
        ({"etcdMonitoringLabels": "release"}, False, (),
         'kafscale:etcdMonitoringLabels: "release" is not a set of labels such as release=prometheus,'
         "team=streaming; using none"),
    ],
)  # fmt: skip
def test_monitoring_settings(raw, monitoring, labels, warning):
    parsed = parse_settings(raw)
    assert parsed.settings.monitoring is monitoring
    assert parsed.settings.monitoring_labels == labels
    messages = [w.message for w in parsed.warnings]
    assert messages == ([] if warning is None else [messages[0]]) and all(
        m.startswith(warning) for m in messages
    )
