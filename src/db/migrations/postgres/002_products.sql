-- The catalogue. Money is integer minor units; stock can never go negative, whatever the code does.
CREATE TABLE products (
  id          BIGSERIAL PRIMARY KEY,
  name        TEXT    NOT NULL,
  description TEXT    NOT NULL DEFAULT '',
  price       BIGINT  NOT NULL CHECK (price >= 0),
  stock       BIGINT  NOT NULL CHECK (stock >= 0),
  archived    INTEGER NOT NULL DEFAULT 0 CHECK (archived IN (0, 1)),
  created_at  BIGINT  NOT NULL,                   -- microseconds since the epoch, UTC
  updated_at  BIGINT  NOT NULL
);
-- A name is unique among the products on sale; archived ones may share it with a newer product.
CREATE UNIQUE INDEX products_active_name ON products (name) WHERE archived = 0;
