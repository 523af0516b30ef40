"""Command-line tools over the public APIs: evaluate, validate, bench, analyze."""
