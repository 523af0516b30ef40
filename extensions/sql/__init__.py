"""Pure text and AST work: never runs SQL."""

from extensions.sql.extract import Extraction, extract_sql

__all__ = ["Extraction", "extract_sql"]
