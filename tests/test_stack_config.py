import pytest

from kafscale.offline.stack_config import StackConfigError, load_stack_config, value_matches_type
from tests.support import PROJECT_DIR

PROJECT_YAML = """\
name: kafscale
runtime: python
config:
  etcdReplicas:
    type: string
    default: "3"
  etcdEndpoints:
    default: ""
  strict:
    type: integer
    default: 1
"""


@pytest.fixture
def project(tmp_path):
    (tmp_path / "Pulumi.yaml").write_text(PROJECT_YAML)
    return tmp_path


def _stack(project, name, text):
    (project / f"Pulumi.{name}.yaml").write_text(text)


def test_defaults_then_stack_file_then_set(project):
    _stack(project, "a", "config:\n  kafscale:etcdReplicas: 5\n  kubernetes:context: kind\n")
    assert load_stack_config(project, "a").values == {
        "kafscale:etcdReplicas": "5",
        "kafscale:etcdEndpoints": "",
        "kafscale:strict": "1",
        "kubernetes:context": "kind",
    }
    values = load_stack_config(
        project, "a", ["etcdReplicas=7", "kafscale:etcdEndpoints=http://x:2379"]
    ).values
    assert values["kafscale:etcdReplicas"] == "7"
    assert values["kafscale:etcdEndpoints"] == "http://x:2379"


def test_yaml_lists_and_booleans_reach_the_program_as_the_cli_sends_them(project):
    _stack(project, "a", "config:\n  kafscale:etcdEndpoints: [http://a:2379, http://b:2379]\n")
    assert (
        load_stack_config(project, "a").values["kafscale:etcdEndpoints"]
        == '["http://a:2379","http://b:2379"]'
    )
    _stack(project, "b", "config:\n  kafscale:etcdReplicas: true\n")
    assert load_stack_config(project, "b").values["kafscale:etcdReplicas"] == "true"


def test_unknown_stack_is_an_error_listing_the_stacks(project):
    _stack(project, "dev", "config: {}\n")
    with pytest.raises(StackConfigError, match=r"unknown stack 'prod'.*\(stacks: dev\)"):
        load_stack_config(project, "prod")


@pytest.mark.parametrize("stack", ["../dev", "a/b", ""])
def test_stack_names_that_are_paths_are_refused(project, stack):
    with pytest.raises(StackConfigError, match="unknown stack"):
        load_stack_config(project, stack)


def test_unknown_set_key_is_an_error(project):
    _stack(project, "a", "config: {}\n")
    with pytest.raises(StackConfigError, match='unknown config key "kafscale:etcdReplica"'):
        load_stack_config(project, "a", ["etcdReplica=3"])


def test_set_without_equals_is_an_error(project):
    _stack(project, "a", "config: {}\n")
    with pytest.raises(StackConfigError, match="expected KEY=VALUE"):
        load_stack_config(project, "a", ["etcdReplicas"])


def test_encrypted_values_are_an_error_naming_the_key(project):
    _stack(project, "a", "config:\n  kafscale:etcdEndpoints:\n    secure: AAABAKzmZ2V0\n")
    with pytest.raises(StackConfigError, match=r"kafscale:etcdEndpoints is encrypted \(secure:\)"):
        load_stack_config(project, "a")


def test_unknown_keys_in_the_stack_file_are_warned_about(project):
    _stack(project, "a", "config:\n  kafscale:etcdQuota: 1Gi\n")
    assert load_stack_config(project, "a").warnings == (
        '"kafscale:etcdQuota" in Pulumi.a.yaml is not a key this program reads; ignored',
    )


def test_values_the_cli_would_refuse_for_the_declared_type_are_refused(project):
    _stack(project, "a", "config:\n  kafscale:strict: lots\n")
    with pytest.raises(
        StackConfigError, match="Stack 'a' with configuration key 'kafscale:strict' must be of type 'integer'"
    ):
        load_stack_config(project, "a")
    _stack(project, "b", "config:\n  kafscale:etcdReplicas: [1, 2]\n")
    with pytest.raises(StackConfigError, match="must be of type 'string'"):
        load_stack_config(project, "b")


def test_unreadable_yaml_is_a_one_line_error(project):
    _stack(project, "a", "config: [unclosed\n")
    with pytest.raises(StackConfigError, match="cannot read") as caught:
        load_stack_config(project, "a")
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("declared", "content", "ok"),
    [
        ("string", "4Gi", True),
        ("string", ["a"], False),
        ("integer", "42", True),
        ("integer", "-1", True),
        ("integer", "4Gi", False),
        ("integer", "", False),
        ("boolean", "true", True),
        ("boolean", "yes", False),
    ],
)
def test_value_matches_type_follows_the_cli(declared, content, ok):
    assert value_matches_type(declared, None, content) is ok


# Every form docs/settings.md documents as accepted must pass the CLI's check of the declared type.
README_ACCEPTED = {
    "etcdQuotaBackendBytes": ["4294967296", "4Gi", "4096Mi", "16Gi"],
    "etcdReplicas": ["1", "3", "4", "5"],
    "etcdStorageMemory": ["1", "true", "TRUE", "yes", "on", "0", "false", "no", "off"],
    "etcdAutoCompactionMode": ["periodic", "Revision"],
    "etcdAutoCompactionRetention": ["5m", "90s", "1h30m", "2", "1000000"],
    "etcdStorageSize": ["10Gi", "500M"],
    "etcdStorageClass": ["", "fast-ssd"],
    "etcdImage": ["kubesphere/etcd:3.6.4-0"],
    "etcdEndpoints": ["http://a:2379,http://b:2379"],
    "clusterName": ["prod-eu"],
    "namespace": ["streaming"],
}


@pytest.mark.parametrize(("key", "value"), [(k, v) for k, values in README_ACCEPTED.items() for v in values])
def test_documented_values_pass_the_declared_types_of_pulumi_yaml(key, value):
    values = load_stack_config(PROJECT_DIR, "dev", [f"{key}={value}"]).values
    assert values[f"kafscale:{key}"] == value


def test_endpoints_as_a_yaml_list_pass_the_declared_type(tmp_path):
    (tmp_path / "Pulumi.yaml").write_text((PROJECT_DIR / "Pulumi.yaml").read_text())
    (tmp_path / "Pulumi.x.yaml").write_text("config:\n  kafscale:etcdEndpoints: [http://a:2379]\n")
    assert load_stack_config(tmp_path, "x").values["kafscale:etcdEndpoints"] == '["http://a:2379"]'


def test_an_encrypted_value_of_another_namespace_is_no_obstacle(project):
    _stack(project, "a", "config:\n  aws:secretKey:\n    secure: v1:AAAA\n  kafscale:etcdReplicas: 5\n")
    config = load_stack_config(project, "a")
    assert config.values["kafscale:etcdReplicas"] == "5"
    assert "aws:secretKey" not in config.values
