"""Published numerical data the package ships (with provenance in each file)."""
