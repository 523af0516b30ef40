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

>>> import tempfile
>>> paths = build_demo_databases(tempfile.mkdtemp())
>>> sorted(paths)
['flights', 'hr', 'school', 'store']
>>> len(demo_examples()) >= 300
True
"""

from __future__ import annotations

import json
import os
import random
import sqlite3
from collections.abc import Callable
from datetime import date, timedelta

from extensions.data._atomic import atomic_sqlite
from extensions.data.layout import db_file

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
_HR_FIXED: tuple[tuple[str, str], ...] = (
    ("How many employees are there?", "SELECT count(*) FROM employees"),
    ("List the names of all departments.", "SELECT name FROM departments"),
    ("What is the average salary of all employees?", "SELECT avg(salary) FROM employees"),
    ("What are the highest and lowest salaries?", "SELECT max(salary), min(salary) FROM employees"),
    ("Which employees have no e-mail address on file?", "SELECT name FROM employees WHERE email IS NULL"),
    ("How many employees have an e-mail address?", "SELECT count(email) FROM employees"),
    ("Which departments have no location recorded?", "SELECT name FROM departments WHERE location IS NULL"),
    (
        "Which employees are not assigned to any department?",
        "SELECT name FROM employees WHERE department_id IS NULL",
    ),
    (
        "List employee names with their department names.",
        "SELECT e.name, d.name FROM employees AS e JOIN departments AS d ON e.department_id = d.id",
    ),
    (
        "How many employees does each department have? Show department name and count.",
        "SELECT d.name, count(*) FROM employees AS e JOIN departments AS d ON e.department_id = d.id GROUP BY d.name",
    ),
    (
        "Which department has the most employees?",
        "SELECT d.name FROM employees AS e JOIN departments AS d ON e.department_id = d.id "
        "GROUP BY d.id ORDER BY count(*) DESC LIMIT 1",
    ),
    (
        "What is the average salary per department name, highest first?",
        "SELECT d.name, avg(e.salary) FROM employees AS e JOIN departments AS d "
        "ON e.department_id = d.id GROUP BY d.name ORDER BY avg(e.salary) DESC",
    ),
    (
        "Which departments have more than 10 employees?",
        "SELECT d.name FROM departments AS d JOIN employees AS e ON e.department_id = d.id GROUP BY d.id "
        "HAVING count(*) > 10",
    ),
    (
        "List each employee together with the name of their manager.",
        "SELECT e.name, m.name FROM employees AS e JOIN employees AS m ON e.manager_id = m.id",
    ),
    (
        "Which employees earn more than the average salary?",
        "SELECT name FROM employees WHERE salary > (SELECT avg(salary) FROM employees)",
    ),
    ("Who was hired most recently?", "SELECT name FROM employees ORDER BY hire_date DESC LIMIT 1"),
    (
        "How many employees were hired in each year? Order by year.",
        "SELECT strftime('%Y', hire_date), count(*) FROM employees GROUP BY strftime('%Y', hire_date) "
        "ORDER BY strftime('%Y', hire_date)",
    ),
    (
        "Which employees manage at least one other employee?",
        "SELECT name FROM employees WHERE id IN (SELECT manager_id FROM employees)",
    ),
    (
        "What is the total budget of departments located in Berlin?",
        "SELECT sum(budget) FROM departments WHERE location = 'Berlin'",
    ),
    (
        "Which departments have no employees?",
        "SELECT name FROM departments WHERE id NOT IN (SELECT department_id FROM employees "
        "WHERE department_id IS NOT NULL)",
    ),
    ("List the distinct job titles.", "SELECT DISTINCT title FROM employees"),
    ("How many different job titles are there?", "SELECT count(DISTINCT title) FROM employees"),
    (
        "What is the name of the department with the largest budget?",
        "SELECT name FROM departments ORDER BY budget DESC LIMIT 1",
    ),
    (
        "Which employees have a name starting with 'a' (any case)?",
        "SELECT name FROM employees WHERE lower(name) LIKE 'a%'",
    ),
    ("Which employees have the last name McAllister?", "SELECT name FROM employees WHERE name LIKE '%McAllister'"),
    (
        "Show the number of employees per title, most common first.",
        "SELECT title, count(*) FROM employees GROUP BY title ORDER BY count(*) DESC",
    ),
    (
        "What is the salary total of employees in the Engineering department?",
        "SELECT sum(e.salary) FROM employees AS e JOIN departments AS d ON e.department_id = d.id "
        "WHERE d.name = 'Engineering'",
    ),
    (
        "Which department names are located in 'new york'?",
        "SELECT name FROM departments WHERE location = 'new york'",
    ),
    ("Which employees were hired before 2015?", "SELECT name FROM employees WHERE hire_date < '2015-01-01'"),
    (
        "How many employees were hired in 2020 or later?",
        "SELECT count(*) FROM employees WHERE hire_date >= '2020-01-01'",
    ),
)


def _hr_examples() -> list[tuple[str, str]]:
    ex = list(_HR_FIXED)
    for title in TITLES:
        ex.append(
            (f"How many employees have the title {title}?", f"SELECT count(*) FROM employees WHERE title = '{title}'")
        )
        ex.append(
            (
                f"What is the average salary of employees with the title {title}?",
                f"SELECT avg(salary) FROM employees WHERE title = '{title}'",
            )
        )
    for name, _ in DEPTS:
        ex.append(
            (
                f"List the names of employees in the {name} department.",
                "SELECT e.name FROM employees AS e JOIN departments AS d ON e.department_id = d.id "
                f"WHERE d.name = '{name}'",
            )
        )
        ex.append(
            (
                f"What is the highest salary in the {name} department?",
                "SELECT max(e.salary) FROM employees AS e JOIN departments AS d ON e.department_id = d.id "
                f"WHERE d.name = '{name}'",
            )
        )
    return ex + _hr_ranked_examples()


def _hr_ranked_examples() -> list[tuple[str, str]]:
    """HR questions over top-k, salary bands, department counts and hiring years."""
    ex: list[tuple[str, str]] = []
    for k in (3, 5, 10):
        ex.append(
            (
                f"List the names and salaries of the {k} best-paid employees.",
                f"SELECT name, salary FROM employees ORDER BY salary DESC LIMIT {k}",
            )
        )
        ex.append(
            (
                f"Who are the {k} employees hired earliest?",
                f"SELECT name FROM employees ORDER BY hire_date ASC LIMIT {k}",
            )
        )
    for s in (50000, 100000, 150000):
        ex.append((f"How many employees earn more than {s}?", f"SELECT count(*) FROM employees WHERE salary > {s}"))
        ex.append(
            (
                f"Which employees earn between {s - 20000} and {s}?",
                f"SELECT name FROM employees WHERE salary BETWEEN {s - 20000} AND {s}",
            )
        )
    for name, _ in DEPTS:
        ex.append(
            (
                f"How many employees work in {name}?",
                "SELECT count(*) FROM employees AS e JOIN departments AS d ON e.department_id = d.id "
                f"WHERE d.name = '{name}'",
            )
        )
        ex.append(
            (
                f"Who is the most recently hired employee in {name}?",
                "SELECT e.name FROM employees AS e JOIN departments AS d ON e.department_id = d.id "
                f"WHERE d.name = '{name}' ORDER BY e.hire_date DESC LIMIT 1",
            )
        )
    for y in range(2013, 2024, 2):
        ex.append(
            (
                f"How many employees were hired in {y}?",
                f"SELECT count(*) FROM employees WHERE strftime('%Y', hire_date) = '{y}'",
            )
        )
    return ex


_STORE_FIXED: tuple[tuple[str, str], ...] = (
    ("How many customers are there?", "SELECT count(*) FROM customers"),
    ("List all product names and prices.", "SELECT product_name, price FROM products"),
    ("What is the most expensive product?", "SELECT product_name FROM products ORDER BY price DESC LIMIT 1"),
    (
        "What is the average product price per category?",
        "SELECT category, avg(price) FROM products GROUP BY category",
    ),
    ("Which customers have no e-mail?", "SELECT first_name, last_name FROM customers WHERE email IS NULL"),
    ("How many orders has each status?", "SELECT status, count(*) FROM orders GROUP BY status"),
    (
        "Which customers never placed an order?",
        "SELECT customer_id FROM customers WHERE customer_id NOT IN (SELECT customer_id FROM orders)",
    ),
    (
        "What is the total quantity sold per product name, best-selling first?",
        "SELECT p.product_name, sum(oi.quantity) FROM order_items AS oi JOIN products AS p "
        "ON oi.product_id = p.product_id GROUP BY p.product_name ORDER BY sum(oi.quantity) DESC",
    ),
    (
        "What is the total revenue of all order items?",
        "SELECT sum(oi.quantity * p.price) FROM order_items AS oi JOIN products AS p ON oi.product_id = p.product_id",
    ),
    (
        "Which customer placed the most orders? Give the first and last name.",
        "SELECT c.first_name, c.last_name FROM customers AS c JOIN orders AS o "
        "ON c.customer_id = o.customer_id GROUP BY c.customer_id ORDER BY count(*) DESC LIMIT 1",
    ),
    ("How many orders were placed in 2023?", "SELECT count(*) FROM orders WHERE order_date LIKE '2023%'"),
    (
        "How many orders were placed per month of 2022? Order by month.",
        "SELECT strftime('%m', order_date), count(*) FROM orders "
        "WHERE strftime('%Y', order_date) = '2022' GROUP BY strftime('%m', order_date) "
        "ORDER BY strftime('%m', order_date)",
    ),
    (
        "Which products were never ordered?",
        "SELECT product_name FROM products WHERE product_id NOT IN (SELECT product_id FROM order_items)",
    ),
    (
        "Which categories have an average price above 50?",
        "SELECT category FROM products GROUP BY category HAVING avg(price) > 50",
    ),
    (
        "List the products whose name contains 'phone' in any case.",
        "SELECT product_name FROM products WHERE lower(product_name) LIKE '%phone%'",
    ),
    ("How many distinct cities do customers live in?", "SELECT count(DISTINCT city) FROM customers"),
    ("What was the date of the first order?", "SELECT min(order_date) FROM orders"),
    (
        "Which customers live in Berlin or Tokyo?",
        "SELECT first_name, last_name FROM customers WHERE city IN ('Berlin', 'Tokyo')",
    ),
    (
        "How many items does each order contain, for orders with more than 2 item lines?",
        "SELECT order_id, count(*) FROM order_items GROUP BY order_id HAVING count(*) > 2",
    ),
    (
        "List the cancelled orders with the customer's last name.",
        "SELECT o.order_id, c.last_name FROM orders AS o JOIN customers AS c "
        "ON o.customer_id = c.customer_id WHERE o.status = 'cancelled'",
    ),
    (
        "What is the most popular category by total quantity?",
        "SELECT p.category FROM order_items AS oi JOIN products AS p ON oi.product_id = p.product_id "
        "GROUP BY p.category ORDER BY sum(oi.quantity) DESC LIMIT 1",
    ),
    (
        "Which customers signed up in 2021?",
        "SELECT first_name, last_name FROM customers WHERE signup_date BETWEEN '2021-01-01' AND '2021-12-31'",
    ),
    (
        "What is the cheapest product in each category?",
        "SELECT category, min(price) FROM products GROUP BY category",
    ),
    (
        "List the pending orders, newest first.",
        "SELECT order_id, order_date FROM orders WHERE status = 'Pending' ORDER BY order_date DESC",
    ),
)


def _store_examples() -> list[tuple[str, str]]:
    ex = list(_STORE_FIXED)
    for cat in sorted({p[1] for p in PRODUCTS}):
        ex.append(
            (f"How many products are in the {cat} category?", f"SELECT count(*) FROM products WHERE category = '{cat}'")
        )
        ex.append(
            (
                f"List the {cat} products from cheapest to most expensive.",
                f"SELECT product_name FROM products WHERE category = '{cat}' ORDER BY price",
            )
        )
        ex.append(
            (
                f"What total quantity of {cat} products was ordered?",
                "SELECT sum(oi.quantity) FROM order_items AS oi JOIN products AS p "
                f"ON oi.product_id = p.product_id WHERE p.category = '{cat}'",
            )
        )
    for city in CITIES:
        ex.append((f"How many customers live in {city}?", f"SELECT count(*) FROM customers WHERE city = '{city}'"))
        ex.append(
            (
                f"How many orders were placed by customers from {city}?",
                "SELECT count(*) FROM orders AS o JOIN customers AS c ON o.customer_id = c.customer_id "
                f"WHERE c.city = '{city}'",
            )
        )
    for st in STATUSES:
        ex.append((f"How many orders have the status '{st}'?", f"SELECT count(*) FROM orders WHERE status = '{st}'"))
    return ex + _store_ranked_examples()


def _store_ranked_examples() -> list[tuple[str, str]]:
    """Store questions over top-k, single products and price thresholds."""
    ex: list[tuple[str, str]] = []
    for k in (3, 5):
        ex.append(
            (
                f"What are the {k} most expensive products?",
                f"SELECT product_name, price FROM products ORDER BY price DESC LIMIT {k}",
            )
        )
        ex.append(
            (
                f"Which {k} customers placed the most orders? Give customer ids.",
                f"SELECT customer_id FROM orders GROUP BY customer_id ORDER BY count(*) DESC, customer_id LIMIT {k}",
            )
        )
    for name, _, _ in PRODUCTS:
        ex.append(
            (
                f"How many units of '{name}' were ordered in total?",
                "SELECT sum(oi.quantity) FROM order_items AS oi JOIN products AS p "
                f"ON oi.product_id = p.product_id WHERE p.product_name = '{name}'",
            )
        )
        ex.append(
            (
                f"How many different orders include '{name}'?",
                "SELECT count(DISTINCT oi.order_id) FROM order_items AS oi JOIN products AS p "
                f"ON oi.product_id = p.product_id WHERE p.product_name = '{name}'",
            )
        )
    for p in (20, 50, 100):
        ex.append((f"Which products cost less than {p}?", f"SELECT product_name FROM products WHERE price < {p}"))
    return ex


_SCHOOL_FIXED: tuple[tuple[str, str], ...] = (
    ("How many students are there?", "SELECT count(*) FROM students"),
    ("What is the average GPA?", "SELECT avg(gpa) FROM students"),
    ("Which students have no declared major?", "SELECT name FROM students WHERE major IS NULL"),
    ("How many students are in each major?", "SELECT major, count(*) FROM students GROUP BY major"),
    ("List course titles with their credits.", "SELECT title, credits FROM courses"),
    ("Which student has the highest GPA?", "SELECT name FROM students ORDER BY gpa DESC LIMIT 1"),
    ("How many enrollments have no grade yet?", "SELECT count(*) FROM enrollments WHERE grade IS NULL"),
    (
        "What is the average grade per course title?",
        "SELECT c.title, avg(e.grade) FROM enrollments AS e JOIN courses AS c "
        "ON e.course_id = c.course_id GROUP BY c.title",
    ),
    (
        "Which course has the most enrollments?",
        "SELECT c.title FROM enrollments AS e JOIN courses AS c ON e.course_id = c.course_id "
        "GROUP BY c.course_id ORDER BY count(*) DESC LIMIT 1",
    ),
    (
        "List the names of students enrolled in Machine Learning.",
        "SELECT s.name FROM students AS s JOIN enrollments AS e ON s.student_id = e.student_id "
        "JOIN courses AS c ON e.course_id = c.course_id WHERE c.title = 'Machine Learning'",
    ),
    (
        "How many credits is each student taking in total? Show the name.",
        "SELECT s.name, sum(c.credits) FROM students AS s JOIN enrollments AS e "
        "ON s.student_id = e.student_id JOIN courses AS c ON e.course_id = c.course_id GROUP BY s.student_id",
    ),
    (
        "Which students are enrolled in more than 3 courses?",
        "SELECT s.name FROM students AS s JOIN enrollments AS e ON s.student_id = e.student_id "
        "GROUP BY s.student_id HAVING count(*) > 3",
    ),
    (
        "Which courses have no enrollments?",
        "SELECT title FROM courses WHERE course_id NOT IN (SELECT course_id FROM enrollments)",
    ),
    (
        "Which students are not enrolled in any course?",
        "SELECT name FROM students WHERE student_id NOT IN (SELECT student_id FROM enrollments)",
    ),
    (
        "What is the maximum grade given in each semester?",
        "SELECT semester, max(grade) FROM enrollments GROUP BY semester",
    ),
    ("How many departments offer courses?", "SELECT count(DISTINCT department) FROM courses"),
    (
        "Which students have a GPA above the average?",
        "SELECT name FROM students WHERE gpa > (SELECT avg(gpa) FROM students)",
    ),
    (
        "List students who started in 2022, ordered by name.",
        "SELECT name FROM students WHERE enrollment_year = 2022 ORDER BY name",
    ),
    (
        "What is the average GPA per enrollment year, oldest first?",
        "SELECT enrollment_year, avg(gpa) FROM students GROUP BY enrollment_year ORDER BY enrollment_year",
    ),
    (
        "Which students got a grade above 95 in any course?",
        "SELECT DISTINCT s.name FROM students AS s JOIN enrollments AS e ON s.student_id = e.student_id "
        "WHERE e.grade > 95",
    ),
)


def _school_examples() -> list[tuple[str, str]]:
    ex = list(_SCHOOL_FIXED)
    for t, _dep, _ in COURSES:
        ex.append(
            (
                f"How many students are enrolled in {t}?",
                "SELECT count(*) FROM enrollments AS e JOIN courses AS c ON e.course_id = c.course_id "
                f"WHERE c.title = '{t}'",
            )
        )
        ex.append(
            (
                f"What is the average grade in {t}?",
                "SELECT avg(e.grade) FROM enrollments AS e JOIN courses AS c ON e.course_id = c.course_id "
                f"WHERE c.title = '{t}'",
            )
        )
    for m in [m for m in MAJORS if m]:
        ex.append((f"How many students major in {m}?", f"SELECT count(*) FROM students WHERE major = '{m}'"))
        ex.append((f"What is the average GPA of {m} majors?", f"SELECT avg(gpa) FROM students WHERE major = '{m}'"))
        ex.append(
            (
                f"List the names of {m} majors with a GPA above 3.",
                f"SELECT name FROM students WHERE major = '{m}' AND gpa > 3",
            )
        )
    for t, _dep, _ in COURSES:
        ex.append((f"Which department offers {t}?", f"SELECT department FROM courses WHERE title = '{t}'"))
    for sem in SEMESTERS:
        ex.append(
            (
                f"How many enrollments are there in semester {sem}?",
                f"SELECT count(*) FROM enrollments WHERE semester = '{sem}'",
            )
        )
    for y in range(2019, 2025):
        ex.append((f"How many students enrolled in {y}?", f"SELECT count(*) FROM students WHERE enrollment_year = {y}"))
    for k in (3, 5):
        ex.append(
            (
                f"Who are the {k} students with the highest GPA?",
                f"SELECT name FROM students ORDER BY gpa DESC LIMIT {k}",
            )
        )
    return ex


_FLIGHTS_FIXED: tuple[tuple[str, str], ...] = (
    ("How many flights are there?", "SELECT count(*) FROM flights"),
    ("List all airport codes and cities.", "SELECT code, city FROM airports"),
    ("What is the average flight price?", "SELECT avg(price) FROM flights"),
    ("What is the longest flight duration in minutes?", "SELECT max(duration_minutes) FROM flights"),
    (
        "How many flights does each airline operate? Show the airline name.",
        "SELECT a.name, count(*) FROM flights AS f JOIN airlines AS a ON f.airline_id = a.airline_id GROUP BY a.name",
    ),
    (
        "Which airline has no flights?",
        "SELECT name FROM airlines WHERE airline_id NOT IN (SELECT airline_id FROM flights)",
    ),
    (
        "What is the cheapest flight from BER? Give the flight id.",
        "SELECT flight_id FROM flights WHERE origin = 'BER' ORDER BY price LIMIT 1",
    ),
    (
        "How many flights depart in each month? Order by month.",
        "SELECT strftime('%m', departure_date), count(*) FROM flights "
        "GROUP BY strftime('%m', departure_date) ORDER BY strftime('%m', departure_date)",
    ),
    (
        "Which cities have flights to Tokyo?",
        "SELECT DISTINCT a.city FROM flights AS f JOIN airports AS a ON f.origin = a.code WHERE f.destination = 'HND'",
    ),
    (
        "Which airline has the highest average price?",
        "SELECT a.name FROM flights AS f JOIN airlines AS a ON f.airline_id = a.airline_id "
        "GROUP BY a.airline_id ORDER BY avg(f.price) DESC LIMIT 1",
    ),
    ("How many flights are longer than 10 hours?", "SELECT count(*) FROM flights WHERE duration_minutes > 600"),
    (
        "Which routes (origin, destination) have more than 6 flights?",
        "SELECT origin, destination FROM flights GROUP BY origin, destination HAVING count(*) > 6",
    ),
    (
        "What is the average duration of flights from the USA?",
        "SELECT avg(f.duration_minutes) FROM flights AS f JOIN airports AS a ON f.origin = a.code "
        "WHERE a.country = 'USA'",
    ),
    (
        "Which airlines are based in the United Kingdom?",
        "SELECT name FROM airlines WHERE country = 'United Kingdom'",
    ),
    (
        "How many flights depart in the first quarter of 2024?",
        "SELECT count(*) FROM flights WHERE departure_date BETWEEN '2024-01-01' AND '2024-03-31'",
    ),
    ("What is the date of the last flight in the schedule?", "SELECT max(departure_date) FROM flights"),
    (
        "List airport cities with the number of departing flights, busiest first.",
        "SELECT a.city, count(*) FROM flights AS f JOIN airports AS a ON f.origin = a.code "
        "GROUP BY a.city ORDER BY count(*) DESC",
    ),
    (
        "Which flights cost more than 1000 and last under 3 hours?",
        "SELECT flight_id FROM flights WHERE price > 1000 AND duration_minutes < 180",
    ),
)


def _flights_examples() -> list[tuple[str, str]]:
    ex = list(_FLIGHTS_FIXED)
    for code, city, _ in AIRPORTS:
        ex.append(
            (
                f"How many flights depart from {city}?",
                f"SELECT count(*) FROM flights AS f JOIN airports AS a ON f.origin = a.code WHERE a.city = '{city}'",
            )
        )
        ex.append((f"How many flights arrive at {code}?", f"SELECT count(*) FROM flights WHERE destination = '{code}'"))
        ex.append(
            (
                f"What is the average price of flights leaving {code}?",
                f"SELECT avg(price) FROM flights WHERE origin = '{code}'",
            )
        )
    for name, _ in AIRLINES[:-1]:
        ex.append(
            (
                f"How many flights does {name} operate?",
                "SELECT count(*) FROM flights AS f JOIN airlines AS a ON f.airline_id = a.airline_id "
                f"WHERE a.name = '{name}'",
            )
        )
        ex.append(
            (
                f"What is the cheapest {name} flight price?",
                "SELECT min(f.price) FROM flights AS f JOIN airlines AS a ON f.airline_id = a.airline_id "
                f"WHERE a.name = '{name}'",
            )
        )
    for _code, city, _ in AIRPORTS[:5]:
        ex.append(
            (
                f"What is the shortest flight duration out of {city}?",
                "SELECT min(f.duration_minutes) FROM flights AS f JOIN airports AS a ON f.origin = a.code "
                f"WHERE a.city = '{city}'",
            )
        )
    for m in range(1, 13):
        ex.append(
            (
                f"How many flights depart in month {m} of 2024?",
                f"SELECT count(*) FROM flights WHERE strftime('%m', departure_date) = '{m:02d}'",
            )
        )
    for k in (3, 5, 10):
        ex.append(
            (
                f"List the {k} most expensive flights by id.",
                f"SELECT flight_id FROM flights ORDER BY price DESC LIMIT {k}",
            )
        )
    return ex


_EXAMPLES: dict[str, Callable[[], list[tuple[str, str]]]] = {
    "hr": _hr_examples,
    "store": _store_examples,
    "school": _school_examples,
    "flights": _flights_examples,
}


def demo_examples() -> list[dict]:
    """All demo question/gold pairs as Spider-style dicts (``db_id``, ``question``, ``query``)."""
    out = []
    for db_id in DB_IDS:
        for q, sql in _EXAMPLES[db_id]():
            out.append({"db_id": db_id, "question": q, "query": sql})
    return out


# Slot templates: one question shape, many numeric slot values. The value in the question is the value in
# the SQL, so a model that learns to copy it answers unseen values; the training demo mixes these in.
SLOT_TEMPLATES: tuple[tuple[str, str, str, range | list], ...] = (
    (
        "hr",
        "How many employees earn more than {v}?",
        "SELECT count(*) FROM employees WHERE salary > {v}",
        range(30000, 180000, 5000),
    ),
    (
        "hr",
        "Which employees earn less than {v}?",
        "SELECT name FROM employees WHERE salary < {v}",
        range(35000, 180000, 5000),
    ),
    (
        "hr",
        "List the names of the {v} best-paid employees.",
        "SELECT name FROM employees ORDER BY salary DESC LIMIT {v}",
        range(1, 31),
    ),
    (
        "hr",
        "What is the name of the employee with id {v}?",
        "SELECT name FROM employees WHERE id = {v}",
        range(1, 61, 2),
    ),
    (
        "store",
        "Which products cost less than {v}?",
        "SELECT product_name FROM products WHERE price < {v}",
        range(10, 1000, 33),
    ),
    (
        "store",
        "What is the last name of customer {v}?",
        "SELECT last_name FROM customers WHERE customer_id = {v}",
        range(1, 41),
    ),
    (
        "store",
        "How many orders did customer {v} place?",
        "SELECT count(*) FROM orders WHERE customer_id = {v}",
        range(1, 36),
    ),
    (
        "school",
        "How many students have a GPA above {v}?",
        "SELECT count(*) FROM students WHERE gpa > {v}",
        [x / 10 for x in range(18, 40)],
    ),
    ("school", "What is the name of student {v}?", "SELECT name FROM students WHERE student_id = {v}", range(1, 51, 2)),
    (
        "school",
        "How many courses does student {v} take?",
        "SELECT count(*) FROM enrollments WHERE student_id = {v}",
        range(2, 51, 2),
    ),
    (
        "flights",
        "How many flights last longer than {v} minutes?",
        "SELECT count(*) FROM flights WHERE duration_minutes > {v}",
        range(60, 900, 30),
    ),
    (
        "flights",
        "How many flights cost less than {v}?",
        "SELECT count(*) FROM flights WHERE price < {v}",
        range(50, 1500, 50),
    ),
    (
        "flights",
        "What is the price of flight {v}?",
        "SELECT price FROM flights WHERE flight_id = {v}",
        range(1, 201, 7),
    ),
    (
        "flights",
        "List the {v} cheapest flights by id.",
        "SELECT flight_id FROM flights ORDER BY price LIMIT {v}",
        range(1, 31),
    ),
)


def slot_examples() -> list[dict]:
    """Question/gold pairs of :data:`SLOT_TEMPLATES`, every slot value once (Spider-style dicts).

    Returns:
        Dicts with ``db_id``, ``question``, ``query`` and ``template`` (the template's index).

    >>> slot_examples()[0]["query"]
    'SELECT count(*) FROM employees WHERE salary > 30000'
    """
    return [
        {"db_id": db, "question": q.format(v=v), "query": sql.format(v=v), "template": i}
        for i, (db, q, sql, values) in enumerate(SLOT_TEMPLATES)
        for v in values
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
