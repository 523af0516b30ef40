"""A generated BIRD-like heavy database (>= 1M rows) for benchmarks.

Gold queries on it take roughly 10-500 ms on one core, like BIRD's larger
databases, so re-running gold per rollout (what public recipes do) is costly.
"""

from __future__ import annotations

import os
import random

from extensions.data._atomic import atomic_sqlite

SCHEMA = """
CREATE TABLE districts (district_id INTEGER PRIMARY KEY, name TEXT, region TEXT, population INTEGER);
CREATE TABLE accounts (account_id INTEGER PRIMARY KEY, district_id INTEGER REFERENCES districts(district_id),
                       open_date TEXT, account_type TEXT);
CREATE TABLE transactions (trans_id INTEGER PRIMARY KEY, account_id INTEGER REFERENCES accounts(account_id),
                           trans_date TEXT, amount REAL, category TEXT, balance REAL);
"""

REGIONS = ["north", "South", "east", "West", "central"]
CATEGORIES = ["grocery", "RENT", "salary", "travel", "utilities", "Insurance", "dining", "other"]
TYPES = ["owner", "disponent", "Joint"]


def build_heavy_database(path: str, *, n_transactions: int = 1_200_000, n_accounts: int = 40_000, seed: int = 0) -> str:
    """Write the heavy database to ``path`` (atomically) unless it already exists."""
    if os.path.exists(path):
        return path
    rng = random.Random(seed)
    with atomic_sqlite(path) as c:
        c.execute("PRAGMA journal_mode=OFF")
        c.execute("PRAGMA synchronous=OFF")
        c.executescript(SCHEMA)
        c.executemany(
            "INSERT INTO districts VALUES (?,?,?,?)",
            ((i, f"District {i}", REGIONS[i % 5], rng.randrange(10_000, 2_000_000)) for i in range(1, 78)),
        )
        c.executemany(
            "INSERT INTO accounts VALUES (?,?,?,?)",
            (
                (
                    i,
                    rng.randrange(1, 78),
                    f"{rng.randrange(1993, 1998)}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}",
                    rng.choice(TYPES),
                )
                for i in range(1, n_accounts + 1)
            ),
        )
        c.executemany(
            "INSERT INTO transactions VALUES (?,?,?,?,?,?)",
            (
                (
                    i,
                    rng.randrange(1, n_accounts + 1),
                    f"{rng.randrange(1993, 1999)}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}",
                    round(rng.expovariate(1 / 300), 2),
                    CATEGORIES[rng.randrange(8)],
                    round(rng.uniform(-500, 90_000), 2),
                )
                for i in range(1, n_transactions + 1)
            ),
        )
        c.execute("CREATE INDEX idx_trans_account ON transactions(account_id)")
    return path


def heavy_examples() -> list[dict]:
    """Question/gold pairs for the heavy database (BIRD-style aggregates and joins)."""
    ex = []
    for cat in CATEGORIES:
        ex.append(
            {
                "question": f"Total amount spent on {cat}?",
                "query": f"SELECT sum(amount) FROM transactions WHERE category = '{cat}'",
            }
        )
        ex.append(
            {
                "question": f"Average {cat} transaction amount in 1997?",
                "query": f"SELECT avg(amount) FROM transactions WHERE category = '{cat}' AND trans_date LIKE '1997%'",
            }
        )
    for region in REGIONS:
        ex.append(
            {
                "question": f"How many transactions come from accounts in the {region} region?",
                "query": "SELECT count(*) FROM transactions AS t JOIN accounts AS a ON t.account_id = a.account_id "
                f"JOIN districts AS d ON a.district_id = d.district_id WHERE d.region = '{region}'",
            }
        )
    for y in range(1993, 1999):
        ex.append(
            {
                "question": f"Number of transactions per category in {y}?",
                "query": f"SELECT category, count(*) FROM transactions WHERE trans_date LIKE '{y}%' GROUP BY category",
            }
        )
    for t in TYPES:
        ex.append(
            {
                "question": f"Top 5 districts by transactions on {t} accounts",
                "query": "SELECT a.district_id, count(*) FROM transactions AS t JOIN accounts AS a ON t.account_id = a.account_id "
                f"WHERE a.account_type = '{t}' GROUP BY a.district_id ORDER BY count(*) DESC, a.district_id LIMIT 5",
            }
        )
    ex.append({"question": "Largest single transaction amount?", "query": "SELECT max(amount) FROM transactions"})
    ex.append(
        {
            "question": "Accounts with more than 50 transactions",
            "query": "SELECT account_id FROM transactions GROUP BY account_id HAVING count(*) > 50",
        }
    )
    for k in (10, 100):
        ex.append(
            {
                "question": f"The {k} largest balances",
                "query": f"SELECT trans_id, balance FROM transactions ORDER BY balance DESC LIMIT {k}",
            }
        )
    return [dict(e, db_id="heavy") for e in ex]
