import sys

from kafscale_lab.cli import main

sys.exit(main())
