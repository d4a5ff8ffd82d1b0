// Package bench holds the benchmarks `make bench` runs. Each measures the
// platform against a hand-written baseline in the same run and reports the
// ratio, so the figures mean something on any machine. Goals are stated
// next to each benchmark; nothing here asserts timing.
package bench
