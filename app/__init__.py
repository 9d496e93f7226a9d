"""askdocs application layer: settings, wiring and the command line."""
