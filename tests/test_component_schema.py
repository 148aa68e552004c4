"""The multi-language package: the schema Pulumi's analyzer builds from the component's source,
and the provider that hosts it (provider/__main__.py, run as `pulumi package add` runs it).

The analyzer and `component_provider_host` are the pinned SDK's own
(pulumi/provider/experimental/analyzer.py `Analyzer.analyze`, schema.py `generate_schema`,
host.py); the Python language host runs a plugin directory's `__main__.py` as
`python <directory> <engine address>` (pulumi/pulumi sdk/python/cmd/pulumi-language-python/main.go
`RunPlugin`) and installs its requirements.txt from that directory (sdk/python/toolchain/pip.go).
"""

import json
import subprocess
import sys
import typing

import grpc
import pytest
import yaml
from pulumi.provider.experimental.analyzer import Analyzer
from pulumi.provider.experimental.schema import generate_schema
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

from kafscale.config import keys
from kafscale.config.keys import snake_case as field_name
from kafscale.edge.component import COMPONENT_TYPE, PACKAGE_NAME, ManagedEtcd
from kafscale.edge.component_args import LAST_DEPLOYED_SETTINGS, ManagedEtcdArgs
from kafscale.edge.pulumi_config import takes_outputs
from kafscale.package_version import package_version
from tests.support import PROJECT_DIR

DESCRIPTIONS = {
    name: " ".join(declared["description"].split())
    for name, declared in yaml.safe_load((PROJECT_DIR / "Pulumi.yaml").read_text())["config"].items()
}
# What each key holds, as other languages see it (stack config's text forms still parse too).
BOOLEAN_KEYS = {key.name for key in keys.CONFIG_KEYS if key.convert is keys.rules.boolean_word}
INTEGER_KEYS = {
    keys.REPLICAS.name,
    keys.MAINTENANCE_SIZE_THRESHOLD_PCT.name,
    keys.MAINTENANCE_FRAGMENTATION_PCT.name,
    keys.SNAPSHOT_STALE_AFTER_SEC.name,
    keys.SNAPSHOT_KEEP.name,
    keys.RUN_AS_USER.name,
    keys.DEPLOY_TIMEOUT_SEC.name,
}
LIST_KEYS = {
    keys.ENDPOINTS.name,
    keys.CLIENT_NAMESPACES.name,
    keys.CLIENT_POD_SELECTORS.name,
    keys.IMAGE_PULL_SECRETS.name,
    keys.TOLERATIONS.name,
}
MAP_KEYS = {
    keys.POD_LABELS.name,
    keys.POD_ANNOTATIONS.name,
    keys.OBJECT_LABELS.name,
    keys.NODE_SELECTOR.name,
    keys.SERVICE_ACCOUNT_ANNOTATIONS.name,
}
# Known when the program runs: they decide which objects exist, their names, protect and timeouts.
PLAIN_KEYS = {
    keys.CLUSTER_NAME.name,
    keys.ENDPOINTS.name,
    keys.REPLICAS.name,
    keys.STORAGE_MEMORY.name,
    keys.MAINTENANCE_ENABLED.name,
    keys.DEFRAG_ENABLED.name,
    keys.SNAPSHOT_ENABLED.name,
    keys.NETWORK_POLICY.name,
    keys.MONITORING.name,
    keys.ALLOW_REPLACEMENT.name,
    keys.ADOPT_OPERATOR_OBJECTS.name,
    keys.DEPLOY_TIMEOUT_SEC.name,
    keys.SERVICE_ACCOUNT_NAME.name,
    keys.SERVICE_ACCOUNT_ANNOTATIONS.name,
    keys.CREATE_NAMESPACE.name,
    keys.PEER_TLS_SECRET.name,
    keys.PEER_TLS_ISSUER.name,
    keys.PEER_URL_SCHEME.name,
    keys.CLIENT_TLS_SECRET.name,
    keys.CLIENT_TLS_ISSUER.name,
    keys.AUTH.name,
    keys.AUTH_CONSOLE_USER.name,
    keys.AUTH_ROOT_SECRET.name,
    keys.AUTH_KAFSCALE_SECRET.name,
    keys.AUTH_CONSOLE_SECRET.name,
}


def _schema_type(key: str) -> str:
    if key in BOOLEAN_KEYS or key == keys.DEFRAG_ENABLED.name:
        return "boolean"
    if key in INTEGER_KEYS:
        return "integer"
    if key == keys.EXPECTED_WRITE_RATE.name:
        return "number"
    if key in MAP_KEYS:
        return "object"
    return "array" if key in LIST_KEYS else "string"


@pytest.fixture(scope="module")
def schema():
    analyzed = Analyzer(PACKAGE_NAME).analyze([ManagedEtcd])
    return generate_schema(
        PACKAGE_NAME,
        package_version(),
        None,
        analyzed["component_definitions"],
        analyzed["type_definitions"],
        sorted(analyzed["dependencies"], key=str),
    ).to_json()


def test_the_component_type_is_the_packages_own(schema):
    assert list(schema["resources"]) == [COMPONENT_TYPE] == ["kafscale-etcd:index:ManagedEtcd"]
    assert schema["name"] == PACKAGE_NAME and schema["version"] == package_version()


def test_every_config_key_is_an_optional_input_with_its_type_and_pulumi_yaml_description(schema):
    component = schema["resources"][COMPONENT_TYPE]
    inputs = component["inputProperties"]
    assert list(inputs) == [key.name for key in keys.CONFIG_KEYS] + ["lastDeployedSettings"]
    assert component["requiredInputs"] == []
    for key in keys.CONFIG_KEYS:
        declared = inputs[key.name]
        assert declared["description"] == DESCRIPTIONS[key.name], key.name
        assert declared["type"] == _schema_type(key.name), key.name
        assert declared.get("plain", False) is (key.name in PLAIN_KEYS), key.name
        if declared["type"] == "array":  # strings, or tolerations (maps of any values)
            items = declared["items"]
            if key is keys.TOLERATIONS:
                assert (
                    items["type"] == "object" and items["additionalProperties"]["$ref"] == "pulumi.json#/Any"
                )
            else:
                assert items["type"] == "string"
        if declared["type"] == "object":
            assert declared["additionalProperties"]["type"] == "string"


def test_the_last_deployment_is_an_input_object(schema):
    declared = schema["resources"][COMPONENT_TYPE]["inputProperties"]["lastDeployedSettings"]
    assert declared["type"] == "object" and "plain" not in declared
    assert "replace the StatefulSet" in declared["description"]


def test_the_outputs_are_typed_and_described(schema):
    component = schema["resources"][COMPONENT_TYPE]
    outputs = component["properties"]
    assert {name: spec["type"] for name, spec in outputs.items()} == {
        "clientEndpoints": "array",
        "memberEndpoints": "array",
        "statefulSetName": "string",
        "managed": "boolean",
        "settings": "object",
        "credentialsSecrets": "object",
    }
    assert all(spec["description"] for spec in outputs.values())
    assert component["required"] == [
        "clientEndpoints",
        "credentialsSecrets",
        "managed",
        "memberEndpoints",
        "settings",
    ]


def test_the_args_hold_every_key_typed_as_the_component_reads_it():
    """The analyzer's view above is the annotations; the component reads the same ones
    (`takes_outputs`) to refuse an output for a plain key."""
    annotations = ManagedEtcdArgs.__annotations__
    assert list(annotations) == [field_name(key.name) for key in keys.CONFIG_KEYS] + [LAST_DEPLOYED_SETTINGS]
    for key in keys.CONFIG_KEYS:
        assert takes_outputs(field_name(key.name)) is (key.name not in PLAIN_KEYS), key.name
        if key.name not in PLAIN_KEYS:
            assert typing.get_origin(annotations[field_name(key.name)]) is typing.Union


@pytest.mark.package
def test_the_provider_directory_serves_the_schema_as_pulumi_runs_it(tmp_path):
    """`python provider <engine>` from another directory (the engine runs it from the consuming
    program's): it prints its port and answers GetSchema with the analyzer's schema."""
    plugin = PROJECT_DIR / "provider"
    assert yaml.safe_load((plugin / "PulumiPlugin.yaml").read_text()) == {"runtime": "python"}
    assert (plugin / "requirements.txt").read_text().splitlines()[-1] == "-r ../requirements.txt"
    process = subprocess.Popen(
        [sys.executable, str(plugin), "127.0.0.1:9"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        port = process.stdout.readline().strip()  # blocks until the server listens, or it exits
        assert port.isdigit(), process.stderr.read() if process.stderr else port
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = provider_pb2_grpc.ResourceProviderStub(channel)
            answer = stub.GetSchema(provider_pb2.GetSchemaRequest(version=0), timeout=60)
        served = json.loads(answer.schema)
    finally:
        process.kill()
        process.wait()
    assert served["name"] == PACKAGE_NAME
    inputs = served["resources"][COMPONENT_TYPE]["inputProperties"]
    assert list(inputs) == [key.name for key in keys.CONFIG_KEYS] + ["lastDeployedSettings"]
