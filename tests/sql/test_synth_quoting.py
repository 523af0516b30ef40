"""Dataset table and column names reach the synthesized database's DDL quoted, whatever they hold."""

from __future__ import annotations

import sqlite3

from extensions.data.synth import synthesize_database

DDL = (
    'CREATE TABLE "my table" ("first name" TEXT, "na""me" INTEGER, "select" TEXT, "Ünïcødé" REAL, '
    '"a); DROP TABLE x; --" TEXT); CREATE TABLE "order" ("group" VARCHAR(20))'
)
EXPECTED = {
    "my table": ["first name", 'na"me', "select", "Ünïcødé", "a); DROP TABLE x; --"],
    "order": ["group"],
}


def test_odd_names_are_quoted(tmp_path) -> None:
    gold = 'SELECT "first name" FROM "my table" WHERE "na""me" > 5'
    path = synthesize_database(DDL, [gold], str(tmp_path))
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY rowid")]
        assert tables == list(EXPECTED)
        for table, columns in EXPECTED.items():
            assert [r[1] for r in conn.execute("SELECT * FROM pragma_table_info(?)", (table,))] == columns
        assert conn.execute(gold).fetchall()  # the planted literal makes the gold non-empty
    finally:
        conn.close()
