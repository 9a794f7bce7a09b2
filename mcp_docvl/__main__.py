import sys

from mcp_docvl.cli import main

# Guarded: worker processes are spawned, and spawning re-imports the parent's main module.
if __name__ == "__main__":
    sys.exit(main())
