import sys

from purpose_lineage.cli import main

sys.exit(main())
