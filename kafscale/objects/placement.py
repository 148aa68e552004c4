"""Where the etcd members may run: the pod spec's anti-affinity and optional zone spread.

Each choice, and the failure it survives:

- `required` (the default in memory mode): no two members on one node
  (`requiredDuringSchedulingIgnoredDuringExecution` on `kubernetes.io/hostname`). Losing one node
  loses at most one member, so a 3-member memory-mode cluster survives a node loss. It needs at
  least as many schedulable nodes as replicas: with fewer, the members left over stay Pending.
- `preferred` (the default in disk mode; the KafScale operator's rule): members go to distinct
  nodes when the scheduler can, and still schedule on fewer nodes than replicas. Two members may
  then share a node, and losing it loses both: with 3 members, the quorum. In disk mode their
  claims keep the data and the quorum returns with the members; in memory mode their data is
  gone and the quorum is lost for good.
- zone spread (`etcdZoneSpread`): members spread over `topology.kubernetes.io/zone` with
  maxSkew 1. Spread over at least 3 zones, 3, 5 or 7 members leave fewer than half of them in any
  one zone, so the cluster survives the loss of a zone. `whenUnsatisfiable: ScheduleAnyway`: a
  cluster with fewer zones than members still schedules every member, only less evenly.
"""

from __future__ import annotations

from kafscale.config.naming import EtcdNames
from kafscale.config.settings import EtcdSettings
from kafscale.objects.metadata import label_selector

HOSTNAME_TOPOLOGY_KEY = "kubernetes.io/hostname"
ZONE_TOPOLOGY_KEY = "topology.kubernetes.io/zone"


def pod_anti_affinity(settings: EtcdSettings, names: EtcdNames) -> dict[str, object]:
    """One member per node: required, or preferred as the operator renders it."""
    if settings.pod_anti_affinity == "required":
        return {
            "requiredDuringSchedulingIgnoredDuringExecution": [
                {"topologyKey": HOSTNAME_TOPOLOGY_KEY, "labelSelector": label_selector(names)}
            ]
        }
    return {
        "preferredDuringSchedulingIgnoredDuringExecution": [
            {
                "weight": 100,
                "podAffinityTerm": {
                    "topologyKey": HOSTNAME_TOPOLOGY_KEY,
                    "labelSelector": label_selector(names),
                },
            }
        ]
    }


def zone_spread_constraints(names: EtcdNames) -> list[dict[str, object]]:
    """Members spread evenly over zones, as far as the cluster's zones allow."""
    return [
        {
            "maxSkew": 1,
            "topologyKey": ZONE_TOPOLOGY_KEY,
            "whenUnsatisfiable": "ScheduleAnyway",
            "labelSelector": label_selector(names),
        }
    ]


def pod_placement(settings: EtcdSettings, names: EtcdNames) -> dict[str, object]:
    """The pod spec's placement fields: `affinity`, and `topologySpreadConstraints` with zone spread."""
    placement: dict[str, object] = {"affinity": {"podAntiAffinity": pod_anti_affinity(settings, names)}}
    if settings.zone_spread:
        placement["topologySpreadConstraints"] = zone_spread_constraints(names)
    return placement
