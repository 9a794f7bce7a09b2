"""Structure from positioned words: lines, reading order, blocks, and their rendering."""
