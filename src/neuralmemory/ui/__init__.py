"""`nmem ui`: a local web page to see, search and correct memories (docs/ui.md)."""
