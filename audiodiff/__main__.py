import sys

from audiodiff.cli.main import main

sys.exit(main())
