"""sqlglot's warnings quote the SQL: they are dropped for our parses, kept for the user's own."""

from __future__ import annotations

import logging

import sqlglot

from extensions.sql.parse import parse_script, parse_sql

SECRET = "CREATE TRIGGER secret_trg_{} AFTER INSERT ON t BEGIN SELECT 1; END"


def test_our_parses_never_log_the_sql(caplog) -> None:
    with caplog.at_level(logging.DEBUG):
        parse_sql(SECRET.format(1))
        parse_script(SECRET.format(2))
    assert not [r for r in caplog.records if "secret_trg" in r.getMessage()]


def test_the_users_own_sqlglot_calls_still_warn(caplog) -> None:
    with caplog.at_level(logging.WARNING, logger="sqlglot"):
        sqlglot.parse(SECRET.format(3), read="sqlite")
    assert any("secret_trg_3" in r.getMessage() for r in caplog.records)
