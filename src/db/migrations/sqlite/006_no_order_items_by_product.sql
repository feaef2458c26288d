-- Products are archived, never deleted (catalog::Service::remove), so no statement looks up the
-- order lines of a product: not the service, and not the foreign key, which is only checked from
-- this side when a product's id changes or its row goes, and neither happens. The index on
-- order_items (product_id) only cost writes: each order line inserted into the leaf of its product,
-- a different page for each product, and on SQLite those pages were most of what every commit wrote
-- to the WAL (docs/benchmarks.md: place_order 22k -> 30k requests/s without it).
DROP INDEX order_items_product;
