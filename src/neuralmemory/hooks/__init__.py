"""hooks layer: what an agent's client hooks (Claude Code's) inject and ask, with no LLM of our own.

The CLI's `nmem hook EVENT` only reads the client's JSON and prints the answer this layer builds;
`nmem hooks install` only names the settings file this layer edits (docs/hooks.md).
"""
