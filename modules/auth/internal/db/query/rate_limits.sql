-- name: HitRateLimit :one
INSERT INTO auth.rate_limits (key, window_start, hits) VALUES (@key, @window_start, 1)
ON CONFLICT (key, window_start) DO UPDATE SET hits = auth.rate_limits.hits + 1
RETURNING hits;

-- name: DeleteRateLimitsBefore :execrows
DELETE FROM auth.rate_limits WHERE window_start < @before;
