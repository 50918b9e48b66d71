"""`python main.py ...` is the same as the `specwhisper` console script."""

import sys

from specwhisper.cli import main

if __name__ == "__main__":
    sys.exit(main())
