"""parse_settings: every key's value used, refused with a warning, or an error, as its rule says."""

import json

import pytest

from kafscale.config.etcd_versions import excludes_every_nospace_alarm, image_etcd_version, parse_version
from kafscale.config.settings import EtcdSettings, SettingsError, parse_settings

DEFAULTS = EtcdSettings(
    cluster_name="kafscale",
    namespace="kafscale",
    endpoints=(),
    image="kubesphere/etcd:3.6.4-0",
    replicas=3,
    storage_size="10Gi",
    storage_class=None,
    storage_memory=False,
    auto_compaction_mode="periodic",
    auto_compaction_retention="5m",
    quota_backend_bytes=4294967296,
    maintenance_enabled=True,
    maintenance_schedule="0 */6 * * *",
    maintenance_check_schedule="*/15 * * * *",
    maintenance_size_threshold_pct=75,
    maintenance_fragmentation_pct=45,
    maintenance_min_defrag_bytes=104857600,
    maintenance_move_leader=False,
    snapshot_etcdctl_image="ghcr.io/kafscale/kafscale-etcd-tools:dev",
    snapshot_bucket="kafscale-etcd-kafscale-kafscale",
    snapshot_prefix="etcd-snapshots",
    snapshot_schedule="0 * * * *",
    snapshot_image="amazon/aws-cli:2.15.0",
    snapshot_s3_endpoint="",
    snapshot_stale_after_sec=7200,
    snapshot_create_bucket=False,
    snapshot_protect_bucket=False,
    snapshot_s3_region="",
    snapshot_credentials_secret="",
    snapshot_keep=0,
    snapshot_enabled=True,
    start_empty_when_lost=False,
    expected_write_rate=None,
    probes=True,
    corruption_checks=True,
    corrupt_check_interval=900,
    run_as_user=65532,
    read_only_root_filesystem=True,
    network_policy=True,
    peer_tls_secret="",
    peer_tls_issuer="",
    peer_url_scheme="auto",
    client_tls_secret="",
    client_tls_issuer="",
    auth="off",
    auth_console_user=False,
    auth_root_secret="",
    auth_kafscale_secret="",
    auth_console_secret="",
    client_namespaces=(),
    client_pod_selectors=(),
    monitoring=False,
    monitoring_labels=(),
    memory_headroom_bytes=512 * 1024**2,
    pod_anti_affinity="preferred",
    zone_spread=False,
    cpu_request="500m",
    memory_request="256Mi",
    guaranteed_qos=False,
    pod_labels=(),
    pod_annotations=(),
    labels=(),
    node_selector=(),
    tolerations=(),
    priority_class_name="",
    image_pull_secrets=(),
    service_account_name="",
    service_account_annotations=(),
    create_namespace=False,
    allow_replacement=False,
    adopt_operator_objects=False,
    deploy_timeout_sec=1200,
)


def test_unset_config_gives_the_operator_defaults_silently():
    parsed = parse_settings({})
    assert parsed.settings == DEFAULTS
    assert parsed.warnings == ()


@pytest.mark.parametrize("key", ["etcdReplicas", "etcdQuotaBackendBytes", "etcdStorageMemory", "etcdImage"])
def test_empty_string_means_the_default_silently(key):
    parsed = parse_settings({key: ""})
    assert parsed.settings == DEFAULTS
    assert parsed.warnings == ()


# key, raw value, settings field, value used
ACCEPTED = [
    ("etcdReplicas", "1", "replicas", 1),
    ("etcdReplicas", "5", "replicas", 5),
    ("etcdReplicas", " 5 ", "replicas", 5),
    ("etcdReplicas", "+7", "replicas", 7),
    ("etcdQuotaBackendBytes", "8589934592", "quota_backend_bytes", 8589934592),
    ("etcdQuotaBackendBytes", "8Gi", "quota_backend_bytes", 8589934592),
    ("etcdQuotaBackendBytes", "4096Mi", "quota_backend_bytes", 4294967296),
    ("etcdQuotaBackendBytes", "1073741824", "quota_backend_bytes", 1073741824),
    ("etcdQuotaBackendBytes", "3000000000", "quota_backend_bytes", 3000000000),
    ("etcdStorageMemory", "1", "storage_memory", True),
    ("etcdStorageMemory", "TRUE", "storage_memory", True),
    ("etcdStorageMemory", "Yes", "storage_memory", True),
    ("etcdStorageMemory", "on", "storage_memory", True),
    ("etcdStorageMemory", "0", "storage_memory", False),
    ("etcdStorageMemory", "Off", "storage_memory", False),
    ("etcdStorageMemory", "no", "storage_memory", False),
    ("etcdAutoCompactionMode", "PERIODIC", "auto_compaction_mode", "periodic"),
    ("etcdAutoCompactionRetention", "90s", "auto_compaction_retention", "90s"),
    ("etcdAutoCompactionRetention", "1h30m", "auto_compaction_retention", "1h30m"),
    ("etcdAutoCompactionRetention", "1.5h", "auto_compaction_retention", "1.5h"),
    ("etcdAutoCompactionRetention", "2", "auto_compaction_retention", "2"),
    ("etcdStorageSize", "20Gi", "storage_size", "20Gi"),
    ("etcdStorageSize", "500M", "storage_size", "500M"),
    ("etcdStorageClass", " fast-ssd ", "storage_class", "fast-ssd"),
    ("etcdImage", " registry.k8s.io/etcd:3.5.21-0 ", "image", "registry.k8s.io/etcd:3.5.21-0"),
    ("clusterName", "prod-eu", "cluster_name", "prod-eu"),
    ("namespace", "streaming", "namespace", "streaming"),
]


@pytest.mark.parametrize(("key", "raw", "field", "used"), ACCEPTED)
def test_good_values_are_used_without_warning(key, raw, field, used):
    parsed = parse_settings({key: raw})
    assert getattr(parsed.settings, field) == used
    assert parsed.warnings == ()


# key, raw value, settings field, value used (the documented default)
REFUSED = [
    ("etcdQuotaBackendBytes", "banana", "quota_backend_bytes", 4294967296),
    ("etcdQuotaBackendBytes", "0", "quota_backend_bytes", 4294967296),
    ("etcdQuotaBackendBytes", "-1", "quota_backend_bytes", 4294967296),
    ("etcdQuotaBackendBytes", "-4Gi", "quota_backend_bytes", 4294967296),
    ("etcdQuotaBackendBytes", "4G", "quota_backend_bytes", 4294967296),
    ("etcdQuotaBackendBytes", "4GB", "quota_backend_bytes", 4294967296),
    ("etcdQuotaBackendBytes", "1.5", "quota_backend_bytes", 4294967296),
    ("etcdQuotaBackendBytes", "   ", "quota_backend_bytes", 4294967296),
    ("etcdReplicas", "0", "replicas", 3),
    ("etcdReplicas", "-3", "replicas", 3),
    ("etcdReplicas", "three", "replicas", 3),
    ("etcdReplicas", "3.0", "replicas", 3),
    ("etcdReplicas", "\t", "replicas", 3),
    ("etcdStorageMemory", "maybe", "storage_memory", False),
    ("etcdStorageMemory", "enabled", "storage_memory", False),
    ("etcdStorageMemory", "  ", "storage_memory", False),
    ("etcdAutoCompactionMode", "hourly", "auto_compaction_mode", "periodic"),
    ("etcdAutoCompactionMode", "revisions", "auto_compaction_mode", "periodic"),
    ("etcdAutoCompactionRetention", "5 minutes", "auto_compaction_retention", "5m"),
    ("etcdAutoCompactionRetention", "-5m", "auto_compaction_retention", "5m"),
    ("etcdAutoCompactionRetention", "5M", "auto_compaction_retention", "5m"),
    ("etcdAutoCompactionRetention", "-1", "auto_compaction_retention", "5m"),
    ("etcdAutoCompactionRetention", "99999999999999h", "auto_compaction_retention", "5m"),
    ("etcdStorageSize", "ten gigs", "storage_size", "10Gi"),
    ("etcdStorageSize", "0", "storage_size", "10Gi"),
    ("etcdStorageSize", "-10Gi", "storage_size", "10Gi"),
    ("etcdStorageSize", "10GB", "storage_size", "10Gi"),
]


@pytest.mark.parametrize(("key", "raw", "field", "used"), REFUSED)
def test_bad_values_fall_back_to_the_default_with_a_warning_naming_key_value_and_default(
    key, raw, field, used
):
    parsed = parse_settings({key: raw})
    assert getattr(parsed.settings, field) == used
    assert len(parsed.warnings) == 1
    warning = parsed.warnings[0]
    assert warning.key == key
    assert warning.value == raw
    assert f"kafscale:{key}" in warning.message
    assert json.dumps(raw) in warning.message
    shown = str(used).lower() if isinstance(used, bool) else str(used)
    assert warning.message.endswith(f"using {shown}")


def test_revision_mode_defaults_its_retention_to_a_revision_count():
    parsed = parse_settings({"etcdAutoCompactionMode": "revision"})
    assert parsed.settings.auto_compaction_mode == "revision"
    assert parsed.settings.auto_compaction_retention == "1000000"
    assert parsed.warnings == ()


@pytest.mark.parametrize(
    ("raw", "used", "warned"),
    [
        ("250000", "250000", False),
        ("5m", "1000000", True),
        ("0", "1000000", True),
        ("-10", "1000000", True),
        ("1e6", "1000000", True),
        ("9223372036854775808", "1000000", True),
    ],
)
def test_revision_mode_takes_only_a_positive_revision_count(raw, used, warned):
    parsed = parse_settings({"etcdAutoCompactionMode": "revision", "etcdAutoCompactionRetention": raw})
    assert parsed.settings.auto_compaction_retention == used
    assert [w.key for w in parsed.warnings] == (["etcdAutoCompactionRetention"] if warned else [])


def test_retention_is_validated_against_the_mode_used_after_a_mode_fallback():
    parsed = parse_settings({"etcdAutoCompactionMode": "bogus", "etcdAutoCompactionRetention": "10000"})
    assert parsed.settings.auto_compaction_mode == "periodic"
    assert parsed.settings.auto_compaction_retention == "10000"  # 10000 hours: valid periodic
    assert [w.key for w in parsed.warnings] == ["etcdAutoCompactionMode"]


@pytest.mark.parametrize("raw", ["0", "0s", "0h0m"])
def test_zero_periodic_retention_is_honoured_with_a_warning_that_it_disables_compaction(raw):
    parsed = parse_settings({"etcdAutoCompactionRetention": raw})
    assert parsed.settings.auto_compaction_retention == raw
    assert len(parsed.warnings) == 1
    assert "disables auto-compaction" in parsed.warnings[0].message


@pytest.mark.parametrize("raw", ["16Gi", "17179869184", "8589934593"])
def test_quota_above_8gib_is_honoured_with_a_warning(raw):
    parsed = parse_settings({"etcdQuotaBackendBytes": raw})
    assert parsed.settings.quota_backend_bytes > 8 * 1024**3
    assert [w.key for w in parsed.warnings] == ["etcdQuotaBackendBytes"]
    assert json.dumps(raw) in parsed.warnings[0].message
    assert "8Gi" in parsed.warnings[0].message


@pytest.mark.parametrize(("raw", "replicas"), [("2", 2), ("4", 4), ("6", 6)])
def test_even_replica_counts_are_honoured_with_a_warning(raw, replicas):
    parsed = parse_settings({"etcdReplicas": raw})
    assert parsed.settings.replicas == replicas
    assert [w.key for w in parsed.warnings] == ["etcdReplicas"]
    assert parsed.warnings[0].message.endswith(f"using {replicas}")


@pytest.mark.parametrize(
    ("raw", "endpoints"),
    [
        ("http://a:2379", ("http://a:2379",)),
        (" http://a:2379 , ,http://b:2379,http://a:2379,", ("http://a:2379", "http://b:2379")),
        ('["http://a:2379", " http://b:2379 ", "http://a:2379", ""]', ("http://a:2379", "http://b:2379")),
        (",, ,", ()),
        ("[]", ()),
    ],
)
def test_endpoints_take_the_comma_string_or_a_list_trimmed_and_deduplicated(raw, endpoints):
    parsed = parse_settings({"etcdEndpoints": raw})
    assert parsed.settings.endpoints == endpoints
    assert parsed.settings.managed is (endpoints == ())
    assert parsed.warnings == ()


@pytest.mark.parametrize("raw", ['["http://a:2379", 7]', '["unterminated', '[{"url": "x"}]'])
def test_endpoints_that_are_not_a_list_of_strings_are_an_error(raw):
    with pytest.raises(SettingsError, match="kafscale:etcdEndpoints"):
        parse_settings({"etcdEndpoints": raw})


@pytest.mark.parametrize(
    ("key", "raw"),
    [
        ("clusterName", "Prod"),
        ("clusterName", "1cluster"),
        ("clusterName", "prod_eu"),
        ("clusterName", "a" * 30),
        ("clusterName", "prod-"),
        ("namespace", "Kafka"),
        ("namespace", "a" * 64),
        ("namespace", "team.kafka"),
    ],
)
def test_names_kubernetes_would_refuse_are_an_error_naming_the_key(key, raw):
    with pytest.raises(SettingsError, match=f"kafscale:{key}"):
        parse_settings({key: raw})


def test_longest_cluster_name_is_accepted():
    assert parse_settings({"clusterName": "a" * 29}).settings.cluster_name == "a" * 29


def test_every_bad_value_yields_its_own_warning():
    parsed = parse_settings(
        {"etcdReplicas": "x", "etcdQuotaBackendBytes": "y", "etcdStorageMemory": "z", "etcdStorageSize": "w"}
    )
    assert sorted(w.key for w in parsed.warnings) == [
        "etcdQuotaBackendBytes",
        "etcdReplicas",
        "etcdStorageMemory",
        "etcdStorageSize",
    ]
    assert parsed.settings == DEFAULTS


def test_effective_values_are_plain_data_keyed_by_config_key():
    values = parse_settings({"etcdEndpoints": "http://a:2379", "etcdStorageClass": "ssd"}).settings
    assert values.as_config_values() == {
        "clusterName": "kafscale",
        "namespace": "kafscale",
        "etcdEndpoints": ["http://a:2379"],
        "etcdImage": "kubesphere/etcd:3.6.4-0",
        "etcdReplicas": 3,
        "etcdStorageSize": "10Gi",
        "etcdStorageClass": "ssd",
        "etcdStorageMemory": False,
        "etcdAutoCompactionMode": "periodic",
        "etcdAutoCompactionRetention": "5m",
        "etcdQuotaBackendBytes": 4294967296,
        "etcdExpectedWriteRate": None,
        "etcdMaintenanceEnabled": True,
        "etcdMaintenanceSchedule": "0 */6 * * *",
        "etcdMaintenanceCheckSchedule": "*/15 * * * *",
        "etcdMaintenanceSizeThresholdPct": 75,
        "etcdMaintenanceFragmentationPct": 45,
        "etcdMaintenanceMinDefragBytes": 104857600,
        "etcdMaintenanceMoveLeader": False,
        "etcdSnapshotEtcdctlImage": "ghcr.io/kafscale/kafscale-etcd-tools:dev",
        "etcdSnapshotBucket": "kafscale-etcd-kafscale-kafscale",
        "etcdSnapshotPrefix": "etcd-snapshots",
        "etcdSnapshotSchedule": "0 * * * *",
        "etcdSnapshotImage": "amazon/aws-cli:2.15.0",
        "etcdSnapshotS3Endpoint": "",
        "etcdSnapshotStaleAfterSec": 7200,
        "etcdSnapshotCreateBucket": False,
        "etcdSnapshotProtectBucket": False,
        "etcdSnapshotS3Region": "",
        "etcdSnapshotCredentialsSecret": "",
        "etcdSnapshotKeep": 0,
        "etcdSnapshotEnabled": True,
        "etcdStartEmptyWhenLost": False,
        "etcdProbes": True,
        "etcdCorruptionChecks": True,
        "etcdCorruptCheckInterval": 900,
        "etcdRunAsUser": 65532,
        "etcdReadOnlyRootFilesystem": True,
        "etcdNetworkPolicy": True,
        "etcdPeerTlsSecret": "",
        "etcdPeerTlsIssuer": "",
        "etcdPeerUrlScheme": "auto",
        "etcdClientTlsSecret": "",
        "etcdClientTlsIssuer": "",
        "etcdAuth": "off",
        "etcdAuthConsoleUser": False,
        "etcdAuthRootSecret": "",
        "etcdAuthKafscaleSecret": "",
        "etcdAuthConsoleSecret": "",
        "etcdClientNamespaces": [],
        "etcdClientPodSelectors": [],
        "etcdMonitoring": False,
        "etcdMonitoringLabels": "",
        "etcdMemoryHeadroomBytes": 536870912,
        "etcdPodAntiAffinity": "preferred",
        "etcdZoneSpread": False,
        "etcdCpuRequest": "500m",
        "etcdMemoryRequest": "256Mi",
        "etcdGuaranteedQos": False,
        "etcdPodLabels": "",
        "etcdPodAnnotations": {},
        "etcdLabels": "",
        "etcdNodeSelector": "",
        "etcdTolerations": [],
        "etcdPriorityClassName": "",
        "etcdImagePullSecrets": [],
        "etcdServiceAccountName": "",
        "etcdServiceAccountAnnotations": {},
        "etcdCreateNamespace": False,
        "etcdAllowReplacement": False,
        "etcdAdoptOperatorObjects": False,
        "etcdDeployTimeoutSec": 1200,
    }


@pytest.mark.parametrize(
    ("key", "raw"),
    [("etcdQuotaBackendBytes", "9223372036854775808"), ("etcdReplicas", "2147483648")],
)
def test_sizes_past_their_limit_are_an_error_naming_the_key_and_the_limit(key, raw):
    with pytest.raises(SettingsError, match=f'kafscale:{key}: "{raw}" is above '):
        parse_settings({key: raw})


# Maintenance settings


@pytest.mark.parametrize(
    ("raw", "enabled", "warned_keys"),
    [
        ({}, True, []),
        ({"etcdMaintenanceEnabled": "off"}, False, []),
        ({"etcdMaintenanceEnabled": "FALSE"}, False, []),
        ({"etcdMaintenanceEnabled": "yes"}, True, []),
        ({"etcdMaintenanceEnabled": "sometimes"}, True, ["etcdMaintenanceEnabled"]),
        ({"etcdDefragEnabled": "false"}, False, ["etcdDefragEnabled"]),
        ({"etcdDefragEnabled": "true"}, True, ["etcdDefragEnabled"]),
        ({"etcdMaintenanceEnabled": "true", "etcdDefragEnabled": "no"}, False, ["etcdDefragEnabled"]),
    ],
)
def test_maintenance_switch_and_its_deprecated_alias(raw, enabled, warned_keys):
    parsed = parse_settings(raw)
    assert parsed.settings.maintenance_enabled is enabled
    assert [w.key for w in parsed.warnings] == warned_keys


def test_deprecated_defrag_schedule_is_used_when_the_new_key_is_empty():
    parsed = parse_settings({"etcdDefragSchedule": "0 3 * * *"})
    assert parsed.settings.maintenance_schedule == "0 3 * * *"
    assert [w.key for w in parsed.warnings] == ["etcdDefragSchedule"]
    assert "deprecated" in parsed.warnings[0].message


def test_deprecated_defrag_schedule_is_ignored_when_the_new_key_is_set():
    parsed = parse_settings({"etcdDefragSchedule": "0 3 * * *", "etcdMaintenanceSchedule": "0 4 * * *"})
    assert parsed.settings.maintenance_schedule == "0 4 * * *"
    assert [w.key for w in parsed.warnings] == ["etcdDefragSchedule"]
    assert "ignored" in parsed.warnings[0].message


@pytest.mark.parametrize(
    ("key", "raw", "field", "used"),
    [
        ("etcdMaintenanceSchedule", "every 6 hours", "maintenance_schedule", "0 */6 * * *"),
        ("etcdMaintenanceSchedule", "0 */6 * *", "maintenance_schedule", "0 */6 * * *"),
        ("etcdDefragSchedule", "61 * * * *", "maintenance_schedule", "0 */6 * * *"),
        ("etcdMaintenanceCheckSchedule", "@every 5s", "maintenance_check_schedule", "*/15 * * * *"),
        ("etcdMaintenanceSizeThresholdPct", "0", "maintenance_size_threshold_pct", 75),
        ("etcdMaintenanceSizeThresholdPct", "101", "maintenance_size_threshold_pct", 75),
        ("etcdMaintenanceSizeThresholdPct", "half", "maintenance_size_threshold_pct", 75),
    ],
)
def test_bad_maintenance_values_fall_back_with_a_warning(key, raw, field, used):
    parsed = parse_settings({key: raw})
    assert getattr(parsed.settings, field) == used
    assert key in [w.key for w in parsed.warnings]
    assert any(w.message.endswith(f"using {used}") for w in parsed.warnings)


def test_good_maintenance_values_are_used():
    parsed = parse_settings(
        {
            "etcdMaintenanceSchedule": "  30 1 * * SUN ",
            "etcdMaintenanceCheckSchedule": "@hourly",
            "etcdMaintenanceSizeThresholdPct": "90",
            "etcdSnapshotEtcdctlImage": "registry.example/etcd-tools:1.2",
        }
    )
    assert parsed.warnings == ()
    assert parsed.settings.maintenance_schedule == "30 1 * * SUN"
    assert parsed.settings.maintenance_check_schedule == "@hourly"
    assert parsed.settings.maintenance_size_threshold_pct == 90
    assert parsed.settings.snapshot_etcdctl_image == "registry.example/etcd-tools:1.2"


# Hardening settings: probes, pod security, the NetworkPolicy's clients, monitoring (table-tested, pure)


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
    ({"etcdClientNamespaces": " , ", "etcdClientPodSelectors": ";"}, (), (), []),  # empty items: no item
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
