"""Training code for the project's own models (not imported by the studio at run time)."""
