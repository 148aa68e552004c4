"""Where programs have imported the component from: `from kafscale.component import ManagedEtcd`.
The component lives in kafscale/edge/component.py."""

from kafscale.edge.component import COMPONENT_TYPE, PACKAGE_NAME, ManagedEtcd
from kafscale.edge.component_args import ManagedEtcdArgs

__all__ = ["COMPONENT_TYPE", "PACKAGE_NAME", "ManagedEtcd", "ManagedEtcdArgs"]
