import sys

from mcp_docvl.cli import main

sys.exit(main())
