-- Placing an order in one round trip on PostgreSQL (issue #21). The statements are the ones
-- orders::Service runs step by step on SQLite (orders/service.cpp, place_in), run inside the server:
-- the guarded stock update of every line in the order the caller gives (product id order, so two
-- orders never wait for each other's rows in opposite orders), the order, its lines, and the
-- customer's name and address for the answer and the confirmation email. One statement instead of
-- ten: measured in docs/architecture.md, "PostgreSQL: round trips and kept pages".
--
-- It takes everything or nothing. When a line cannot be taken (no such product, archived, not enough
-- stock) it gives back what the earlier lines took (their rows are still locked by this transaction,
-- so nobody saw or changed them) and returns no row; the caller then runs the step-by-step path,
-- which names the line to blame with the same error and details as ever.
--
-- Returns one row per line, in the caller's order: the order's id, the customer, and each line's
-- product as sold with its stock after the sale (the stock watch hears before = after + quantity).
CREATE FUNCTION orderd_place_order(p_user BIGINT, p_products BIGINT[], p_quantities BIGINT[], p_now BIGINT,
                                   p_expires BIGINT)
RETURNS TABLE (order_id BIGINT, customer TEXT, email TEXT, product_id BIGINT, product TEXT, price BIGINT,
               stock BIGINT)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  names TEXT[] := '{}';
  prices BIGINT[] := '{}';
  stocks BIGINT[] := '{}';
  v_name TEXT;
  v_price BIGINT;
  v_stock BIGINT;
  v_order BIGINT;
  v_total BIGINT := 0;
BEGIN
  FOR i IN 1 .. cardinality(p_products) LOOP
    UPDATE products p SET stock = p.stock - p_quantities[i]
     WHERE p.id = p_products[i] AND p.archived = 0 AND p.stock >= p_quantities[i]
    RETURNING p.name, p.price, p.stock INTO v_name, v_price, v_stock;
    IF NOT FOUND THEN
      FOR j IN 1 .. i - 1 LOOP
        UPDATE products p SET stock = p.stock + p_quantities[j] WHERE p.id = p_products[j];
      END LOOP;
      RETURN;
    END IF;
    names[i] := v_name;
    prices[i] := v_price;
    stocks[i] := v_stock;
    v_total := v_total + v_price * p_quantities[i];
  END LOOP;
  INSERT INTO orders (user_id, status, total_amount, created_at, expires_at, updated_at)
  VALUES (p_user, 'pending_payment', v_total, p_now, p_expires, p_now) RETURNING id INTO v_order;
  -- Line ids in the caller's order, as the step-by-step path inserts them.
  INSERT INTO order_items (order_id, product_id, product, price, quantity)
  SELECT v_order, l.id, l.name, l.price, l.quantity
    FROM unnest(p_products, names, prices, p_quantities) WITH ORDINALITY AS l(id, name, price, quantity, n)
   ORDER BY l.n;
  RETURN QUERY
  SELECT v_order, u.username, u.email, l.id, l.name, l.price, l.stock
    FROM users u, unnest(p_products, names, prices, stocks) WITH ORDINALITY AS l(id, name, price, stock, n)
   WHERE u.id = p_user
   ORDER BY l.n;
END
$$;

-- Kept catalogue pages on every node (issue #21): any change to products, by any node, the CLI's
-- import or a hand-written UPDATE, notifies channel orderd_catalog. PostgreSQL delivers a NOTIFY only
-- when its transaction commits, and folds a transaction's identical notifications into one; each
-- node's listener (db/postgres.cpp) retires its pages when one arrives. A statement-level trigger: one
-- notification per statement, however many rows it changes.
CREATE FUNCTION orderd_catalog_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('orderd_catalog', '');
  RETURN NULL;
END
$$;
CREATE TRIGGER products_changed AFTER INSERT OR UPDATE OR DELETE ON products
  FOR EACH STATEMENT EXECUTE FUNCTION orderd_catalog_changed();
