import sys

from kafscale.offline.cli import main

sys.exit(main())
