"""Kept catalogue pages on several PostgreSQL nodes (issue #21): a node keeps its product pages until
any node changes a product or its stock, which it hears through LISTEN/NOTIFY (migration 014's
trigger, db/postgres.cpp's listener); a listener that loses its connection retires every page and
reconnects. Two nodes on one database; runs only with ORDERD_TEST_DB=postgres."""
import pytest

from conftest import customer_token, place, postgres_only, staff_token, wait_until
from test_multinode import metric, new_product, start_nodes  # noqa: F401 (a fixture)

pytestmark = postgres_only


def listed(node, token, pid):
    """The product as the first catalogue page shows it (the fresh database holds only this test's)."""
    r = node.get("/store/products/", token=token)
    assert r.status_code == 200, r.text
    return next(p for p in r.json()["results"] if p["id"] == pid)


def keeping_pages(node, token, pid):
    """Lists once (which starts the node's listener), waits until the listener is connected, then lists
    again so that the page is kept; returns what it showed."""
    listed(node, token, pid)
    wait_until(lambda: metric(node, "orderd_db_change_listener_connected") == 1, what="the listener connected")
    return listed(node, token, pid)


def after_notification(node, change):
    """Runs change() and waits until the node has heard of it."""
    before = metric(node, "orderd_db_change_notifications")
    change()
    wait_until(lambda: metric(node, "orderd_db_change_notifications") > before, what="the notification")


@pytest.fixture
def two_nodes(start_nodes):  # noqa: F811
    a, b = start_nodes(2)
    staff = staff_token(a)
    return a, b, staff, customer_token(a)


def test_a_sale_on_one_node_retires_the_pages_of_another(two_nodes):
    a, b, staff, buyer = two_nodes
    product = new_product(a, staff, 10)
    assert keeping_pages(b, buyer, product["id"])["stock"] == 10
    after_notification(b, lambda: place(a, buyer, product_id=product["id"], quantity=3, expect=201))
    assert listed(b, buyer, product["id"])["stock"] == 7


def test_a_node_hears_its_own_sale_back_as_its_own_and_the_other_as_a_change(two_nodes):
    """Both nodes hear a sale on a. For a it is the echo of its own commit, which retired its pages
    already (counted apart, not as a change: that would retire every page a second time per order);
    for b it is another node's change."""
    a, b, staff, buyer = two_nodes
    product = new_product(a, staff, 10)
    keeping_pages(a, buyer, product["id"])
    keeping_pages(b, buyer, product["id"])
    own_a, own_b = metric(a, "orderd_db_change_notifications_own"), metric(b, "orderd_db_change_notifications_own")
    heard_b = metric(b, "orderd_db_change_notifications")
    place(a, buyer, product_id=product["id"], quantity=3, expect=201)
    wait_until(lambda: metric(a, "orderd_db_change_notifications_own") > own_a, what="a to hear its own sale")
    wait_until(lambda: metric(b, "orderd_db_change_notifications") > heard_b, what="b to hear a's sale")
    assert metric(b, "orderd_db_change_notifications_own") == own_b
    assert listed(a, buyer, product["id"])["stock"] == 7
    assert listed(b, buyer, product["id"])["stock"] == 7


def test_a_staff_edit_on_one_node_retires_the_pages_of_another(two_nodes):
    a, b, staff, buyer = two_nodes
    product = new_product(a, staff, 10, price="10.00")
    keeping_pages(b, buyer, product["id"])

    def edit():
        r = a.patch(f"/store/products/{product['id']}/", token=staff, json={"price": "12.50", "stock_adjustment": 5})
        assert r.status_code == 200, r.text

    after_notification(b, edit)
    shown = listed(b, buyer, product["id"])
    assert (shown["price"], shown["stock"]) == ("12.50", 15)


def test_a_new_product_on_one_node_shows_on_another(two_nodes):
    a, b, staff, buyer = two_nodes
    first = new_product(a, staff, 1)
    keeping_pages(b, buyer, first["id"])
    created = {}
    after_notification(b, lambda: created.update(new_product(a, staff, 2)))
    assert listed(b, buyer, created["id"])["stock"] == 2


def test_a_lost_listener_retires_every_page_and_reconnects(two_nodes):
    a, b, staff, buyer = two_nodes
    product = new_product(a, staff, 10)
    assert keeping_pages(b, buyer, product["id"])["stock"] == 10
    # A change nobody is told of (triggers off for this one transaction): what a notification lost
    # while the listener was away looks like.
    a.sql("DO $$ BEGIN SET LOCAL session_replication_role = replica;"
          f" UPDATE products SET stock = 4 WHERE id = {int(product['id'])}; END $$")
    connects = metric(b, "orderd_db_change_listener_connects")
    killed = a.sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                   " WHERE application_name = 'orderd-listener' AND datname = current_database()")
    assert killed and all(row[0] for row in killed)
    wait_until(lambda: metric(b, "orderd_db_change_listener_connects") > connects
               and metric(b, "orderd_db_change_listener_connected") == 1, what="the listener reconnected")
    assert listed(b, buyer, product["id"])["stock"] == 4
    # Heard again after the reconnection.
    after_notification(b, lambda: place(a, buyer, product_id=product["id"], quantity=1, expect=201))
    assert listed(b, buyer, product["id"])["stock"] == 3
