package routepolicy_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/modulith/modulith/internal/ratelimit"
	"github.com/modulith/modulith/internal/routepolicy"
)

func TestLimitsMatchTheMostSpecificRule(t *testing.T) {
	rules, err := routepolicy.ParseLimits("default=100/s, auth.v1.AuthService/*=20/s:5,auth.*=50/m," +
		"auth.v1.AuthService/Refresh=off,/graphql=10/s")
	if err != nil {
		t.Fatalf("ParseLimits: %v", err)
	}

	tests := []struct {
		route, pattern string
		limit          ratelimit.Limit
	}{
		{"auth.v1.AuthService/StartSignIn", "auth.v1.AuthService/*", ratelimit.Limit{Count: 20, Period: time.Second, Burst: 5}},
		{"auth.v2.Other/X", "auth.*", ratelimit.Limit{Count: 50, Period: time.Minute, Burst: 50}},
		{"auth.v1.AuthService/Refresh", "auth.v1.AuthService/Refresh", ratelimit.Limit{}},
		{"orders.v1.OrdersService/Get", "default", ratelimit.Limit{Count: 100, Period: time.Second, Burst: 100}},
		{"/graphql", "/graphql", ratelimit.Limit{Count: 10, Period: time.Second, Burst: 10}},
	}
	for _, tt := range tests {
		pattern, limit, ok := rules.Match(tt.route)
		if !ok || pattern != tt.pattern || limit != tt.limit {
			t.Errorf("Match(%q) = %q, %+v, %v; want %q, %+v", tt.route, pattern, limit, ok, tt.pattern, tt.limit)
		}
	}
}

func TestNoDefaultMatchesNothingElse(t *testing.T) {
	rules, err := routepolicy.ParseLimits("orders.v1.OrdersService/*=1/s")
	if err != nil {
		t.Fatalf("ParseLimits: %v", err)
	}

	if p, _, ok := rules.Match("auth.v1.AuthService/StartSignIn"); ok {
		t.Errorf("Match(other route) = %q, want no rule", p)
	}

	if empty, _ := routepolicy.ParseLimits(""); !empty.Empty() {
		t.Error(`ParseLimits("") has rules, want none`)
	}
}

func TestParseRejects(t *testing.T) {
	tests := map[string]func(string) error{
		"default":                        limits,
		"default=":                       limits,
		"default=100":                    limits,
		"default=100/s,default=5/s":      limits,
		"a b/*=1/s":                      limits,
		"auth.*.Service=1/s":             limits,
		"=1/s":                           limits,
		"x=1/d":                          limits,
		"orders.v1.OrdersService/*=":     roles,
		"orders.v1.OrdersService/*=Adm":  roles,
		"orders.v1.OrdersService/*=a||b": roles,
		"default=admin":                  roles,
		"x/Y=public; max-age=60":         cacheControl,
		"x/Y=<script>":                   cacheControl,
	}
	for in, parse := range tests {
		if err := parse(in); err == nil {
			t.Errorf("parse(%q) succeeded, want an error", in)
		}
	}
}

func limits(s string) error       { _, err := routepolicy.ParseLimits(s); return err }
func roles(s string) error        { _, err := routepolicy.ParseRoles(s); return err }
func cacheControl(s string) error { _, err := routepolicy.ParseCacheControl(s); return err }

func TestParseRolesAndCacheControl(t *testing.T) {
	r, err := routepolicy.ParseRoles("orders.v1.OrdersService/*=admin|support")
	if err != nil {
		t.Fatalf("ParseRoles: %v", err)
	}

	if _, got, _ := r.Match("orders.v1.OrdersService/ListOrders"); !cmp.Equal(got, []string{"admin", "support"}) {
		t.Errorf("roles = %q, want admin, support", got)
	}

	c, err := routepolicy.ParseCacheControl("users.v1.UsersService/GetProfile=public, max-age=60; default=private, max-age=0")
	if err != nil {
		t.Fatalf("ParseCacheControl: %v", err)
	}

	if _, got, _ := c.Match("users.v1.UsersService/GetProfile"); got != "public, max-age=60" {
		t.Errorf("Cache-Control = %q, want public, max-age=60", got)
	}
}
