"""The package's provider: hosts ManagedEtcd for programs in other languages.

Pulumi runs `python <this directory>`; the component's source is the repository's `kafscale`
package beside it. The schema (every input, output, type and description) is what Pulumi's
analyzer reads from `kafscale.edge.component` and `kafscale.edge.component_args`.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pulumi.provider.experimental import component_provider_host

from kafscale.edge.component import PACKAGE_NAME, ManagedEtcd
from kafscale.package_version import package_version

if __name__ == "__main__":
    component_provider_host([ManagedEtcd], name=PACKAGE_NAME, version=package_version())
