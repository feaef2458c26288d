"""`orderd backup FILE`: a copy of the SQLite database taken while customers buy, which a node then
serves as one consistent moment (README, "Command line"; docs/reliability.md, "Backups")."""
import fcntl
import os
import signal
import sqlite3
import subprocess

from conftest import BACKEND, BIN, Server, customer_token, postgres_only, staff_token, wait_until
from invariants import Load, check_invariants, make_products, wait_reconciled

import pytest

sqlite_only = pytest.mark.skipif(BACKEND != "sqlite", reason="backup copies SQLite databases")


def orders_in(path):
    with sqlite3.connect(path) as db:
        return db.execute("SELECT count(*) FROM orders").fetchone()[0]


@sqlite_only
def test_backups_taken_while_customers_buy_each_restore_one_consistent_moment(make_server, tmp_path):
    # Copying orderd.db by hand while a node writes can catch the file and its WAL at two moments:
    # stock without the order that took it, an order without its items. Two backups are taken in
    # the middle of eight customers placing, paying and cancelling; each copy is served by a node of
    # its own and must hold the invariants of the crash tests (stock + units held = what was put on
    # the shelf, every paid order paid once, no order without items).
    s = make_server()
    products = make_products(s, staff_token(s), 3, 1_000_000)
    load = Load(s, [customer_token(s) for _ in range(8)], products).start()
    backups = []
    try:
        for i in range(2):
            wait_until(lambda: load.successes() >= 60 * (i + 1), timeout=60, what="orders before the backup")
            target = tmp_path / f"backup-{i}.db"
            p = s.cli("backup", str(target))
            assert p.returncode == 0, p.stderr
            assert f" to {target}: " in p.stdout and "schema at migration" in p.stdout, p.stdout
            assert target.stat().st_mode & 0o777 == 0o600  # customers' data: the owner's only
            backups.append(target)
        wait_until(lambda: load.successes() >= 200, timeout=60, what="orders after the backups")
    finally:
        load.stop()
    assert not load.unexpected, load.unexpected[:5]
    assert [p.name for p in tmp_path.iterdir() if ".partial-" in p.name] == []

    live = s.sql("SELECT count(*) FROM orders")[0][0]
    counts = [orders_in(b) for b in backups]
    assert 0 < counts[0] < counts[1] < live, (counts, live)  # each copy is its own moment, not the end
    for target in backups:
        restored = Server(tmp_path / f"served-{target.stem}",
                          env={"ORDERD_DATABASE_URL": f"sqlite://{target}", "ORDERD_GATEWAY_TIMEOUT": "1s"})
        restored.start()
        try:
            wait_reconciled(restored)  # a payment caught with the gateway is settled, as after a crash
            check_invariants(restored, products)
            token = customer_token(restored)  # and it takes new business
            assert restored.get(f"/store/products/{next(iter(products))}/", token=token).status_code == 200
        finally:
            assert restored.stop() == 0


@sqlite_only
def test_a_backup_never_overwrites_never_creates_the_source_and_says_what_is_wrong(make_server, tmp_path):
    s = make_server()
    existing = tmp_path / "existing.db"
    existing.write_bytes(b"last night's backup")
    refusals = [
        ([str(existing)], {}, "exists; a backup never overwrites a file"),
        ([str(tmp_path / "no-such-dir" / "b.db")], {}, "does not exist"),
        ([str(tmp_path / "b.db")], {"ORDERD_DATABASE_URL": f"sqlite://{tmp_path / 'typo.db'}"},
         "cannot open the SQLite database"),
        ([str(tmp_path / "b.db")], {"ORDERD_DATABASE_URL": f"sqlite://{existing}"}, "not a database"),
    ]
    for args, env, said in refusals:
        p = s.cli("backup", *args, env=env)
        assert p.returncode == 1 and said in p.stderr, (args, p.returncode, p.stderr)
    assert existing.read_bytes() == b"last night's backup"
    assert not (tmp_path / "typo.db").exists()
    assert not (tmp_path / "b.db").exists()

    # A plain SQLite file that orderd never migrated is not mistaken for a shop's database.
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as db:
        db.execute("CREATE TABLE t (x)")
    p = s.cli("backup", str(tmp_path / "c.db"), env={"ORDERD_DATABASE_URL": f"sqlite://{other}"})
    assert p.returncode == 1 and "not a database orderd has migrated" in p.stderr, p.stderr
    assert not (tmp_path / "c.db").exists()


@sqlite_only
def test_a_backup_in_the_making_is_the_owners_alone_and_an_interrupted_one_leaves_nothing(make_server, tmp_path):
    # Found by a review: the copy took the umask's mode (0644) while it was written and became 0600
    # only at the end, and a run stopped by timeout(1) or Ctrl-C left a full, readable copy behind.
    s = make_server()
    s.stop()
    with sqlite3.connect(s.db_path) as db:  # about 300 MB, so the copy takes a moment to write
        db.execute("CREATE TABLE ballast (b BLOB)")
        db.executemany("INSERT INTO ballast VALUES (randomblob(1000000))", [()] * 300)
    target = tmp_path / "big.db"
    partial = tmp_path / "big.db.partial"
    run = subprocess.Popen([BIN, "backup", str(target)], cwd=s.workdir, env=s.env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    try:
        wait_until(lambda: partial.exists() and partial.stat().st_size > 0, timeout=30, what="the copy to begin")
        assert partial.stat().st_mode & 0o777 == 0o600
        run.send_signal(signal.SIGTERM)
        assert run.wait(timeout=30) == -signal.SIGTERM
    finally:
        run.kill()
        run.communicate(timeout=30)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("big.db")) == []


@sqlite_only
def test_a_second_backup_to_one_file_stops_at_once_and_a_killed_ones_leftover_is_taken_over(make_server, tmp_path):
    s = make_server()
    target = tmp_path / "b.db"
    partial = tmp_path / "b.db.partial"
    # Another run holds the copy in the making: this one stops at once and leaves it alone.
    with open(partial, "wb") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        p = s.cli("backup", str(target))
        assert p.returncode == 1 and "another backup to" in p.stderr, p.stderr
        assert partial.exists() and not target.exists()
    # Unlocked, it is what a killed run (SIGKILL, a power cut) left: the next run takes it over.
    partial.write_bytes(b"half a copy")
    os.chmod(partial, 0o644)
    p = s.cli("backup", str(target))
    assert p.returncode == 0, p.stderr
    assert not partial.exists() and target.stat().st_mode & 0o777 == 0o600
    with sqlite3.connect(target) as db:
        assert db.execute("PRAGMA quick_check").fetchone() == ("ok",)


@sqlite_only
def test_a_file_name_that_looks_like_a_uri_is_a_file_name(make_server):
    # SQLite reads "file:..." as a URI where URIs are on: the copy went to another name and the
    # command failed with the copy left behind (found by a review).
    s = make_server()
    p = s.cli("backup", "file:b.db?mode=ro")
    assert p.returncode == 0, p.stderr
    assert (s.workdir / "file:b.db?mode=ro").stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in s.workdir.iterdir() if p.name.startswith(("b.db", "file:"))) == ["file:b.db?mode=ro"]


@postgres_only
def test_on_postgresql_backup_points_to_pg_dump(make_server, tmp_path):
    s = make_server()
    p = s.cli("backup", str(tmp_path / "b.db"))
    assert p.returncode == 1 and "on PostgreSQL use pg_dump" in p.stderr, p.stderr
    assert not (tmp_path / "b.db").exists()


def test_backup_needs_a_file_name(tmp_path):
    p = subprocess.run([BIN, "backup"], cwd=tmp_path, capture_output=True, text=True, timeout=30)
    assert p.returncode == 2 and "file is required" in p.stderr, p.stderr
