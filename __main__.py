"""kafscale-etcd: the managed etcd behind KafScale, tuned from `kafscale:*` stack config."""

import pulumi

from kafscale.component import ManagedEtcd
from kafscale.edge.pulumi_config import read_args

etcd = ManagedEtcd("etcd", read_args())

pulumi.export("clientEndpoints", etcd.client_endpoints)
pulumi.export("memberEndpoints", etcd.member_endpoints)
pulumi.export("statefulSetName", etcd.stateful_set_name)
pulumi.export("managed", etcd.managed)
pulumi.export("settings", etcd.settings)
pulumi.export("credentialsSecrets", etcd.credentials_secrets)
