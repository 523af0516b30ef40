"""One error hierarchy for the package.

Errors are raised inside the core for programming mistakes and bad
configuration. They never cross an adapter into a trainer: adapters turn
every failure into a defined reward with the reason in its breakdown.
"""

from __future__ import annotations


class ExtensionsError(Exception):
    """Base class of every error this package raises on purpose."""


class ConfigError(ExtensionsError, ValueError):
    """A configuration value is missing or invalid. The message names the key."""


class SchemaLoadError(ExtensionsError):
    """A schema could not be read from the given source."""


class DataError(ExtensionsError):
    """A dataset file is missing or malformed."""


class EngineClosedError(ExtensionsError):
    """The execution engine was used after ``close()``."""
