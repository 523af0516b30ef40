"""Private helpers shared by the package: logging once, fork-safe locks, coalescing, bounded caches."""
