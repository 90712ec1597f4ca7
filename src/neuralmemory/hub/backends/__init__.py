"""hub/backends layer."""
