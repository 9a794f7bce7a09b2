"""One page pipeline under every tool: a session per call (`session`) over the one page builder and cache (`pages`)."""
