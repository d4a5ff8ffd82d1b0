CREATE SCHEMA IF NOT EXISTS orders;

-- Orders of users; user_id names a user of the auth module (no foreign key:
-- modules never reach into each other's schemas).
CREATE TABLE orders.orders (
    id            text PRIMARY KEY, -- TypeID order_…, time-ordered
    user_id       text        NOT NULL,
    status        text        NOT NULL CHECK (status IN ('placed', 'cancelled')),
    currency      text        NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    total_minor   bigint      NOT NULL CHECK (total_minor >= 0),
    cancel_reason text        NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL
);

-- A user's orders, newest first, for cursor pagination by ID.
CREATE INDEX orders_user_id_id ON orders.orders (user_id, id DESC);

CREATE TABLE orders.order_items (
    order_id         text    NOT NULL REFERENCES orders.orders (id) ON DELETE CASCADE,
    position         integer NOT NULL,
    sku              text    NOT NULL,
    quantity         integer NOT NULL CHECK (quantity > 0),
    unit_price_minor bigint  NOT NULL CHECK (unit_price_minor >= 0),
    PRIMARY KEY (order_id, position)
);
