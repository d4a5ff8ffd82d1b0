-- name: CreateOrder :exec
INSERT INTO orders.orders (id, user_id, status, currency, total_minor, created_at, updated_at)
VALUES ($1, $2, 'placed', $3, $4, $5, $5);

-- name: CreateOrderItems :copyfrom
INSERT INTO orders.order_items (order_id, position, sku, quantity, unit_price_minor)
VALUES ($1, $2, $3, $4, $5);

-- name: GetOrder :one
SELECT * FROM orders.orders WHERE id = $1;

-- name: LockOrder :one
SELECT * FROM orders.orders WHERE id = $1 FOR UPDATE;

-- name: ListOrders :many
-- A page of a user's orders, newest first, after the cursor (an order ID;
-- empty for the first page).
SELECT * FROM orders.orders
WHERE user_id = @user_id AND (@after::text = '' OR id < @after::text)
ORDER BY id DESC
LIMIT @page_size;

-- name: OrderItems :many
SELECT * FROM orders.order_items WHERE order_id = ANY(@order_ids::text[]) ORDER BY order_id, position;

-- name: CancelOrder :execrows
UPDATE orders.orders SET status = 'cancelled', cancel_reason = $2, updated_at = $3 WHERE id = $1;
