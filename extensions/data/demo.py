"""Small generated demo databases with question/gold-SQL pairs.

Four domains, built deterministically by code (seeded), in Spider's layout::

    DIR/database/<db_id>/<db_id>.sqlite
    DIR/dev.json      [{"db_id", "question", "query"}, ...]
    DIR/tables.json   Spider-style schema entries

* ``hr``: ``departments``, ``employees`` (self-referencing manager, NULL e-mails, hire dates)
* ``store``: ``customers``, ``products``, ``orders``, ``order_items``
* ``school``: ``students``, ``courses``, ``enrollments`` (NULL grades)
* ``flights``: ``airports``, ``airlines``, ``flights`` (dates, durations)

Text uses mixed case ("iPhone", "McAllister", "São Paulo"), several columns hold
NULLs, and dates are ISO strings, so the questions exercise joins,
aggregates, ORDER BY/LIMIT, NULL handling, LIKE, and date functions.

The databases are built by the code here; the questions and their gold SQL are data, in
``demo_questions.yaml`` beside this module (fixed pairs, and templates whose slots take
listed values or the names the databases hold), read by :func:`demo_examples` and
:func:`slot_examples`.

>>> import tempfile
>>> paths = build_demo_databases(tempfile.mkdtemp())
>>> sorted(paths)
['flights', 'hr', 'school', 'store']
>>> len(demo_examples()) >= 300
True
"""

from __future__ import annotations

import functools
import json
import os
import random
import sqlite3
from collections.abc import Callable
from datetime import date, timedelta
from importlib import resources
from typing import TYPE_CHECKING, Any, NamedTuple

from extensions.data._atomic import atomic_sqlite
from extensions.data.layout import db_file
from extensions.errors import DataError

if TYPE_CHECKING:  # importlib.resources.abc is new in Python 3.11
    from importlib.resources.abc import Traversable

DEMO_VERSION = 1
DB_IDS = ("hr", "store", "school", "flights")

# --------------------------------------------------------------------------- schemas
SCHEMAS: dict[str, str] = {
    "hr": """
CREATE TABLE departments (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  location TEXT,
  budget REAL
);
CREATE TABLE employees (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  title TEXT,
  salary REAL,
  department_id INTEGER REFERENCES departments(id),
  manager_id INTEGER REFERENCES employees(id),
  hire_date TEXT,
  email TEXT
);
""",
    "store": """
CREATE TABLE customers (
  customer_id INTEGER PRIMARY KEY,
  first_name TEXT,
  last_name TEXT,
  city TEXT,
  signup_date TEXT,
  email TEXT
);
CREATE TABLE products (
  product_id INTEGER PRIMARY KEY,
  product_name TEXT,
  category TEXT,
  price REAL
);
CREATE TABLE orders (
  order_id INTEGER PRIMARY KEY,
  customer_id INTEGER REFERENCES customers(customer_id),
  order_date TEXT,
  status TEXT
);
CREATE TABLE order_items (
  order_id INTEGER REFERENCES orders(order_id),
  product_id INTEGER REFERENCES products(product_id),
  quantity INTEGER
);
""",
    "school": """
CREATE TABLE students (
  student_id INTEGER PRIMARY KEY,
  name TEXT,
  major TEXT,
  enrollment_year INTEGER,
  gpa REAL
);
CREATE TABLE courses (
  course_id INTEGER PRIMARY KEY,
  title TEXT,
  department TEXT,
  credits INTEGER
);
CREATE TABLE enrollments (
  student_id INTEGER REFERENCES students(student_id),
  course_id INTEGER REFERENCES courses(course_id),
  semester TEXT,
  grade REAL
);
""",
    "flights": """
CREATE TABLE airports (
  code TEXT PRIMARY KEY,
  city TEXT,
  country TEXT
);
CREATE TABLE airlines (
  airline_id INTEGER PRIMARY KEY,
  name TEXT,
  country TEXT
);
CREATE TABLE flights (
  flight_id INTEGER PRIMARY KEY,
  airline_id INTEGER REFERENCES airlines(airline_id),
  origin TEXT REFERENCES airports(code),
  destination TEXT REFERENCES airports(code),
  departure_date TEXT,
  duration_minutes INTEGER,
  price REAL
);
""",
}

FIRST = [
    "Alice",
    "bob",
    "Carlos",
    "Dana",
    "Eve",
    "Farid",
    "Grace",
    "Hiro",
    "Ines",
    "José",
    "Kim",
    "Liam",
    "Mia",
    "Noah",
    "Olga",
    "Priya",
]
LAST = ["Smith", "McAllister", "o'Brien", "Nguyen", "Garcia", "van Dijk", "Kowalski", "Ito", "DuBois", "Okafor"]
DEPTS = [
    ("Engineering", "Berlin"),
    ("Sales", "new york"),
    ("HR", "Berlin"),
    ("Marketing", "São Paulo"),
    ("Research", None),
    ("Support", "Lagos"),
]
TITLES = ["Engineer", "Senior Engineer", "Manager", "Analyst", "Intern", "Director"]
CITIES = ["Berlin", "new york", "São Paulo", "Lagos", "Tokyo", "Paris", "Austin"]
PRODUCTS = [
    ("iPhone 15", "Electronics", 999.0),
    ("USB-C cable", "Electronics", 9.5),
    ("eBook Reader", "Electronics", 129.0),
    ("Desk Lamp", "Home", 35.0),
    ("Coffee Mug", "Home", 8.0),
    ("Running Shoes", "Sports", 89.9),
    ("Yoga Mat", "Sports", 25.0),
    ("Novel: Dune", "Books", 14.99),
    ("SQL Cookbook", "Books", 49.0),
    ("Chair", "Home", 120.0),
    ("Headphones", "Electronics", 199.0),
    ("Tennis Racket", "Sports", 150.0),
]
STATUSES = ["shipped", "Pending", "cancelled", "delivered"]
MAJORS = ["Computer Science", "Mathematics", "History", "Biology", None]
COURSES = [
    ("Intro to Databases", "Computer Science", 4),
    ("Linear Algebra", "Mathematics", 3),
    ("World History", "History", 3),
    ("Genetics", "Biology", 4),
    ("Machine Learning", "Computer Science", 4),
    ("Statistics", "Mathematics", 3),
    ("Ancient Rome", "History", 2),
    ("Ecology", "Biology", 3),
]
SEMESTERS = ["2023-Fall", "2024-Spring", "2024-Fall"]
AIRPORTS = [
    ("BER", "Berlin", "Germany"),
    ("JFK", "New York", "USA"),
    ("GRU", "São Paulo", "Brazil"),
    ("LOS", "Lagos", "Nigeria"),
    ("HND", "Tokyo", "Japan"),
    ("CDG", "Paris", "France"),
    ("AUS", "Austin", "USA"),
]
AIRLINES = [
    ("Lufthansa", "Germany"),
    ("Delta", "USA"),
    ("LATAM", "Brazil"),
    ("ANA", "Japan"),
    ("Air France", "France"),
    ("easyJet", "United Kingdom"),
]


def _d(rng: random.Random, start: date, days: int) -> str:
    return (start + timedelta(days=rng.randrange(days))).isoformat()


def _fill_hr(c: sqlite3.Connection, rng: random.Random) -> None:
    for i, (name, loc) in enumerate(DEPTS, 1):
        c.execute(
            "INSERT INTO departments VALUES (?,?,?,?)",
            (i, name, loc, round(rng.uniform(1e5, 2e6), 2) if i != 5 else None),
        )
    for i in range(1, 61):
        name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        dept = rng.randrange(1, len(DEPTS) + 1) if i % 17 else None
        mgr = rng.randrange(1, i) if i > 3 else None
        email = None if i % 7 == 0 else name.lower().replace(" ", ".").replace("'", "") + f"{i}@corp.example"
        c.execute(
            "INSERT INTO employees VALUES (?,?,?,?,?,?,?,?)",
            (
                i,
                name,
                rng.choice(TITLES),
                round(rng.uniform(30000, 180000), 2),
                dept,
                mgr,
                _d(rng, date(2012, 1, 1), 4500),
                email,
            ),
        )


def _fill_store(c: sqlite3.Connection, rng: random.Random) -> None:
    for i in range(1, 41):
        c.execute(
            "INSERT INTO customers VALUES (?,?,?,?,?,?)",
            (
                i,
                rng.choice(FIRST),
                rng.choice(LAST),
                rng.choice(CITIES),
                _d(rng, date(2020, 1, 1), 1400),
                None if i % 5 == 0 else f"c{i}@mail.example",
            ),
        )
    for i, (n, cat, p) in enumerate(PRODUCTS, 1):
        c.execute("INSERT INTO products VALUES (?,?,?,?)", (i, n, cat, p))
    for i in range(1, 121):
        c.execute(
            "INSERT INTO orders VALUES (?,?,?,?)",
            (i, rng.randrange(1, 36), _d(rng, date(2022, 1, 1), 900), rng.choice(STATUSES)),
        )
        for pid in rng.sample(range(1, len(PRODUCTS) + 1), rng.randrange(1, 4)):
            c.execute("INSERT INTO order_items VALUES (?,?,?)", (i, pid, rng.randrange(1, 5)))


def _fill_school(c: sqlite3.Connection, rng: random.Random) -> None:
    for i in range(1, 51):
        c.execute(
            "INSERT INTO students VALUES (?,?,?,?,?)",
            (
                i,
                f"{rng.choice(FIRST)} {rng.choice(LAST)}",
                rng.choice(MAJORS),
                rng.randrange(2019, 2025),
                round(rng.uniform(1.8, 4.0), 2),
            ),
        )
    for i, (t, dep, cr) in enumerate(COURSES, 1):
        c.execute("INSERT INTO courses VALUES (?,?,?,?)", (i, t, dep, cr))
    for s in range(1, 51):
        for cid in rng.sample(range(1, len(COURSES) + 1), rng.randrange(1, 5)):
            grade = None if rng.random() < 0.15 else round(rng.uniform(50, 100), 1)
            c.execute("INSERT INTO enrollments VALUES (?,?,?,?)", (s, cid, rng.choice(SEMESTERS), grade))


def _fill_flights(c: sqlite3.Connection, rng: random.Random) -> None:
    c.executemany("INSERT INTO airports VALUES (?,?,?)", AIRPORTS)
    for i, (n, co) in enumerate(AIRLINES, 1):
        c.execute("INSERT INTO airlines VALUES (?,?,?)", (i, n, co))
    codes = [a[0] for a in AIRPORTS]
    for i in range(1, 201):
        o, d = rng.sample(codes, 2)
        c.execute(
            "INSERT INTO flights VALUES (?,?,?,?,?,?,?)",
            (
                i,
                rng.randrange(1, len(AIRLINES)),
                o,
                d,
                _d(rng, date(2024, 1, 1), 365),
                rng.randrange(60, 900),
                round(rng.uniform(49, 1500), 2),
            ),
        )


FILLERS: dict[str, Callable[[sqlite3.Connection, random.Random], None]] = {
    "hr": _fill_hr,
    "store": _fill_store,
    "school": _fill_school,
    "flights": _fill_flights,
}


def build_database(path: str, db_id: str, *, seed: int = 0) -> str:
    """Write the ``db_id`` demo database to ``path`` (atomically) and return the path."""
    with atomic_sqlite(path) as c:
        c.executescript(SCHEMAS[db_id])
        FILLERS[db_id](c, random.Random(f"{db_id}:{seed}"))
    return path


def default_demo_dir() -> str:
    """Where demo data is cached: ``$EXTENSIONS_DEMO_DIR`` or ``~/.cache/extensions-sql/demo-vN``."""
    env = os.environ.get("EXTENSIONS_DEMO_DIR")
    if env:
        return env
    return os.path.join(os.path.expanduser("~"), ".cache", "extensions-sql", f"demo-v{DEMO_VERSION}")


def build_demo_databases(out_dir: str | None = None) -> dict[str, str]:
    """Build (if missing) the four demo databases; returns ``{db_id: path}``."""
    out_dir = out_dir or default_demo_dir()
    paths = {}
    for db_id in DB_IDS:
        p = db_file(os.path.join(out_dir, "database"), db_id)
        if not os.path.exists(p):
            build_database(p, db_id)
        paths[db_id] = p
    return paths


# --------------------------------------------------------------------------- questions
# The questions and gold SQL live in demo_questions.yaml beside this module (shipped in the wheel); the code
# below reads and expands it. The file's format is described at its top.
QUESTIONS_FILE = "demo_questions.yaml"

Pair = tuple[str, str]
Row = dict[str, Any]

# Rows of the names the fillers write, by the name a templated group of the question file gives as `names`.
NAME_ROWS: dict[str, tuple[Row, ...]] = {
    "titles": tuple({"title": t} for t in TITLES),
    "departments": tuple({"department": name} for name, _ in DEPTS),
    "categories": tuple({"category": c} for c in sorted({p[1] for p in PRODUCTS})),
    "cities": tuple({"city": c} for c in CITIES),
    "statuses": tuple({"status": s} for s in STATUSES),
    "products": tuple({"product": name} for name, _, _ in PRODUCTS),
    "courses": tuple({"course": title} for title, _, _ in COURSES),
    "majors": tuple({"major": m} for m in MAJORS if m),
    "semesters": tuple({"semester": s} for s in SEMESTERS),
    "airports": tuple({"code": code, "city": city} for code, city, _ in AIRPORTS),
    # _fill_flights draws airline ids below len(AIRLINES): the last airline has no flights.
    "airlines_with_flights": tuple({"airline": name} for name, _ in AIRLINES[:-1]),
}
_GROUP_KEYS = {"names", "first", "each", "rows", "pairs"}


class SlotTemplate(NamedTuple):
    """One slot template: a question shape whose slot ``{v}`` takes each of ``values`` in turn."""

    db_id: str
    question: str
    sql: str
    values: range | list


# Read from the question file on first use (PEP 562 module __getattr__ below), like slot_examples().
SLOT_TEMPLATES: tuple[SlotTemplate, ...]


def questions_file() -> Traversable:
    """The packaged question file, found through :mod:`importlib.resources` (a wheel's or a checkout's).

    Returns:
        ``demo_questions.yaml`` in the installed ``extensions.data`` package.

    >>> questions_file().name
    'demo_questions.yaml'
    """
    return resources.files("extensions.data").joinpath(QUESTIONS_FILE)


@functools.cache
def _questions() -> dict[str, Any]:
    """The question file, parsed once.

    Returns:
        The YAML document: ``version``, ``databases`` (``fixed`` and ``templated`` per db_id) and ``slots``.

    Raises:
        DataError: The file is not version 1 of the format.

    >>> sorted(_questions()["databases"]) == sorted(DB_IDS)
    True
    """
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's safe loader where pyyaml has it
    data = yaml.load(questions_file().read_text(encoding="utf-8"), Loader=loader)
    if not isinstance(data, dict) or data.get("version") != 1:
        raise DataError(f"{QUESTIONS_FILE}: expected a mapping with version: 1")
    return data


def _slot_values(spec: list | dict) -> range | list:
    """The values of one slot, as the question file writes them.

    Args:
        spec: A list of values, or ``{"range": [start, stop]}`` / ``{"range": [start, stop, step]}``.

    Returns:
        The list itself, or the ``range`` it names (stop left out, as in Python).

    Raises:
        DataError: ``spec`` is neither.

    >>> _slot_values({"range": [1, 7, 2]})
    range(1, 7, 2)
    """
    if isinstance(spec, list):
        return spec
    if isinstance(spec, dict) and set(spec) == {"range"}:
        return range(*spec["range"])
    raise DataError(f"{QUESTIONS_FILE}: slot values are a list or {{range: [start, stop, step]}}, not {spec!r}")


def _group_rows(group: dict[str, Any]) -> list[Row]:
    """The slot rows of one templated group, from exactly one of its ``names``, ``each`` or ``rows``.

    Args:
        group: One entry of a database's ``templated`` list.

    Returns:
        One dict of slot values per row, in order.

    Raises:
        DataError: The group has an unknown key, not exactly one source of rows, or an unknown ``names``.

    >>> _group_rows({"names": "airports", "first": 2, "pairs": []})
    [{'code': 'BER', 'city': 'Berlin'}, {'code': 'JFK', 'city': 'New York'}]
    """
    sources = [k for k in ("names", "each", "rows") if k in group]
    if set(group) - _GROUP_KEYS or len(sources) != 1 or ("first" in group and sources != ["names"]):
        raise DataError(f"{QUESTIONS_FILE}: a templated group takes one of names (with first), each or rows: {group}")
    if "rows" in group:
        return list(group["rows"])
    if "each" in group:
        if len(group["each"]) != 1:
            raise DataError(f"{QUESTIONS_FILE}: each names one slot: {group['each']}")
        ((slot, spec),) = group["each"].items()
        return [{slot: v} for v in _slot_values(spec)]
    if group["names"] not in NAME_ROWS:
        raise DataError(f"{QUESTIONS_FILE}: names {group['names']!r} is not one of {sorted(NAME_ROWS)}")
    rows = list(NAME_ROWS[group["names"]])
    return rows[: group.get("first", len(rows))]


def _expand_group(group: dict[str, Any]) -> list[Pair]:
    """Every row of a templated group through each of its (question, SQL) templates, row by row.

    Args:
        group: One entry of a database's ``templated`` list; its ``pairs`` hold ``q`` and ``sql`` format strings.

    Returns:
        (question, SQL) pairs: for the first row each template in order, then the next row.

    Raises:
        DataError: A template names a slot that the rows lack.

    >>> _expand_group({"each": {"k": [3, 5]}, "pairs": [{"q": "Top {k}?", "sql": "SELECT a LIMIT {k}"}]})
    [('Top 3?', 'SELECT a LIMIT 3'), ('Top 5?', 'SELECT a LIMIT 5')]
    """
    out = []
    for row in _group_rows(group):
        for pair in group["pairs"]:
            try:
                out.append((pair["q"].format(**row), pair["sql"].format(**row)))
            except (KeyError, IndexError, ValueError) as exc:
                raise DataError(f"{QUESTIONS_FILE}: template {pair} does not fit the row {row}: {exc!r}") from exc
    return out


def _database_pairs(db_id: str) -> list[Pair]:
    """The (question, SQL) pairs of one demo database: its fixed pairs, then its templated groups.

    Args:
        db_id: One of :data:`DB_IDS`.

    Returns:
        The pairs, in the file's order.

    >>> _database_pairs("hr")[0]
    ('How many employees are there?', 'SELECT count(*) FROM employees')
    """
    entry = _questions()["databases"][db_id]
    pairs = [(p["q"], p["sql"]) for p in entry["fixed"]]
    return pairs + [pair for group in entry["templated"] for pair in _expand_group(group)]


def demo_examples() -> list[dict]:
    """All demo question/gold pairs as Spider-style dicts, database by database in :data:`DB_IDS` order.

    Returns:
        Fresh dicts with ``db_id``, ``question`` and ``query``.

    >>> demo_examples()[0]
    {'db_id': 'hr', 'question': 'How many employees are there?', 'query': 'SELECT count(*) FROM employees'}
    """
    return [{"db_id": db_id, "question": q, "query": sql} for db_id in DB_IDS for q, sql in _database_pairs(db_id)]


def _slot_templates() -> tuple[SlotTemplate, ...]:
    """The ``slots`` of the question file.

    Returns:
        One :class:`SlotTemplate` per entry, in the file's order (the order gives ``template`` indices).

    >>> _slot_templates()[2].values
    range(1, 31)
    """
    return tuple(SlotTemplate(t["db"], t["q"], t["sql"], _slot_values(t["values"])) for t in _questions()["slots"])


def __getattr__(name: str) -> Any:
    """Module attributes read from the question file on first use: ``SLOT_TEMPLATES``.

    Args:
        name: The attribute asked for.

    Returns:
        :func:`_slot_templates` for ``SLOT_TEMPLATES``.

    Raises:
        AttributeError: Any other name.

    >>> from extensions.data import demo
    >>> demo.SLOT_TEMPLATES[0].sql
    'SELECT count(*) FROM employees WHERE salary > {v}'
    """
    if name == "SLOT_TEMPLATES":
        return _slot_templates()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def slot_examples() -> list[dict]:
    """Question/gold pairs of :data:`SLOT_TEMPLATES`, every slot value once (Spider-style dicts).

    Returns:
        Dicts with ``db_id``, ``question``, ``query`` and ``template`` (the template's index).

    >>> slot_examples()[0]["query"]
    'SELECT count(*) FROM employees WHERE salary > 30000'
    """
    return [
        {"db_id": t.db_id, "question": t.question.format(v=v), "query": t.sql.format(v=v), "template": i}
        for i, t in enumerate(_slot_templates())
        for v in t.values
    ]


def spider_tables_entry(db_id: str, db_path: str) -> dict:
    """A Spider ``tables.json`` entry read from a SQLite file."""
    from extensions.execution.introspect import load_schema

    return load_schema(db_path).to_spider_entry(db_id)


def write_demo_dataset(out_dir: str | None = None) -> str:
    """Write databases, ``dev.json`` and ``tables.json`` in Spider layout; returns the folder."""
    out_dir = out_dir or default_demo_dir()
    paths = build_demo_databases(out_dir)
    dev = os.path.join(out_dir, "dev.json")
    if not os.path.exists(dev):
        with open(dev + ".tmp", "w") as fh:
            json.dump(demo_examples(), fh, indent=1, ensure_ascii=False)
        os.replace(dev + ".tmp", dev)
    tables = os.path.join(out_dir, "tables.json")
    if not os.path.exists(tables):
        with open(tables + ".tmp", "w") as fh:
            json.dump([spider_tables_entry(d, paths[d]) for d in DB_IDS], fh, indent=1)
        os.replace(tables + ".tmp", tables)
    return out_dir
