import sys

from bgblur.cli import main

sys.exit(main())
