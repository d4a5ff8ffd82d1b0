package main

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func join(segs []segment) string {
	var b strings.Builder
	for _, s := range segs {
		b.WriteString(s.text)
	}

	return b.String()
}

func TestScan(t *testing.T) {
	tests := []struct {
		src  string
		want []segment
	}{
		{"", nil},
		{"package a.v1;", []segment{{code, "package a.v1;"}}},
		{
			`x = "a\"b" // c "d"` + "\ny",
			[]segment{{code, "x = "}, {str, `"a\"b"`}, {code, " "}, {comment, `// c "d"`}, {code, "\ny"}},
		},
		{"a /* b\n// c */ 'd' e", []segment{{code, "a "}, {comment, "/* b\n// c */"}, {code, " "}, {str, "'d'"}, {code, " e"}}},
		{`"open`, []segment{{str, `"open`}}},
		{"/* open", []segment{{comment, "/* open"}}},
		{"/**/x", []segment{{comment, "/**/"}, {code, "x"}}},
		{"// last", []segment{{comment, "// last"}}},
		{"a / b", []segment{{code, "a / b"}}},
	}

	for _, tt := range tests {
		got := scan(tt.src)
		if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(segment{})); diff != "" {
			t.Errorf("scan(%q) mismatch (-want +got):\n%s", tt.src, diff)
		}

		if join(got) != tt.src {
			t.Errorf("scan(%q) joins back to %q", tt.src, join(got))
		}
	}
}

func TestParseProto(t *testing.T) {
	src, err := os.ReadFile("testdata/repo/proto/shop/v1/shop.proto")
	if err != nil {
		t.Fatal(err)
	}

	got, err := parseProto("shop.proto", string(src))
	if err != nil {
		t.Fatalf("parseProto() error = %v", err)
	}

	want := protoFile{
		name:      "shop.proto",
		src:       string(src),
		pkg:       "shop.v1",
		goPackage: "example.com/shop/gen/go/shop/v1;shopv1",
		services: []service{
			{name: "Catalog", http: true, rpcs: []rpc{
				{name: "GetItem", req: "GetItemRequest", resp: "shop.v1.Item"},
				{name: "Watch", req: "GetItemRequest", resp: "Item", streaming: true},
				{name: "Ping", req: "google.protobuf.Empty", resp: "google.protobuf.Empty"},
			}},
			{name: "Admin", rpcs: []rpc{{name: "Reset", req: "ResetRequest", resp: "other.v1.Receipt"}}},
		},
	}

	if diff := cmp.Diff(want, got, cmp.AllowUnexported(protoFile{}, service{}, rpc{})); diff != "" {
		t.Errorf("parseProto() mismatch (-want +got):\n%s", diff)
	}
}

func TestParseProtoWithoutPackage(t *testing.T) {
	if _, err := parseProto("x.proto", `syntax = "proto3"; // package a.v1;`); err == nil {
		t.Error("parseProto(no package) = nil error, want errNoPackage")
	}
}

func TestRewrite(t *testing.T) {
	rn := rename{module: "shop", oldVer: "v1", newVer: "v2", oldPkg: "acme.shop.v1", newPkg: "acme.shop.v2"}

	tests := []struct{ name, src, want string }{
		{"package", "package acme.shop.v1;", "package acme.shop.v2;"},
		{"qualified type", "returns (.acme.shop.v1.Item)", "returns (.acme.shop.v2.Item)"},
		{"other package", "returns (acme.other.v1.Item)", "returns (acme.other.v1.Item)"},
		{"longer version", "acme.shop.v10.Item", "acme.shop.v10.Item"},
		{"go_package", `option go_package = "x.com/gen/go/shop/v1;shopv1";`, `option go_package = "x.com/gen/go/shop/v2;shopv2";`},
		{"go_package without name", `option go_package = "x.com/gen/go/shop/v1";`, `option go_package = "x.com/gen/go/shop/v2";`},
		{"own import", `import "shop/v1/types.proto";`, `import "shop/v2/types.proto";`},
		{"public import", `import public "shop/v1/types.proto";`, `import public "shop/v2/types.proto";`},
		{"other module's import", `import "other/v1/x.proto";`, `import "other/v1/x.proto";`},
		{"http rule", `{get: "/v1/shop/items/{id}"}`, `{get: "/v2/shop/items/{id}"}`},
		{"path at the end", `{get: "/v1"}`, `{get: "/v2"}`},
		{"description", `description: "Tokens from /v1/auth/login."`, `description: "Tokens from /v2/auth/login."`},
		{"title", `title: "Shop API v1"`, `title: "Shop API v2"`},
		{"summary", `summary: "Get an item (v1)"`, `summary: "Get an item (v2)"`},
		{"package in a string", `description: "See acme.shop.v1.Catalog."`, `description: "See acme.shop.v2.Catalog."`},
		{"info version", `version: "1.0"`, `version: "2.0"`},
		{"info version v", `version:"v1"`, `version:"v2"`},
		{"info version patch", `version: "1.4.2"`, `version: "2.0.0"`},
		{"info version of another major", `version: "3.1"`, `version: "3.1"`},
		{"pattern", `pattern = "^v1-[a-z]+$"`, `pattern = "^v1-[a-z]+$"`},
		{"bare version string", `const = "v1"`, `const = "v1"`},
		{"field named like a version", "string v1_id = 2;", "string v1_id = 2;"},
		{"line comment", "// Catalog of the v1 API (acme.shop.v1, /v1/shop).", "// Catalog of the v2 API (acme.shop.v2, /v2/shop)."},
		{"block comment", "/* v1 */", "/* v2 */"},
		{"words containing the version", "// shopv1 and v1beta and v10", "// shopv1 and v1beta and v10"},
	}

	for _, tt := range tests {
		if got := rewrite(tt.src, rn); got != tt.want {
			t.Errorf("%s: rewrite(%q) = %q, want %q", tt.name, tt.src, got, tt.want)
		}
	}
}

// The module's real contract: every line that names v1 is renamed, no
// other line changes, and no v1 is left.
func TestRewriteAuthProto(t *testing.T) {
	src, err := os.ReadFile("../../proto/auth/v1/auth.proto")
	if err != nil {
		t.Fatal(err)
	}

	got := rewrite(string(src), rename{module: "auth", oldVer: "v1", newVer: "v2", oldPkg: "auth.v1", newPkg: "auth.v2"})

	if regexp.MustCompile(`v1|"1\.0"`).MatchString(got) {
		t.Errorf("rewrite(auth.proto) left a v1:\n%s", got)
	}

	in, out := strings.Split(string(src), "\n"), strings.Split(got, "\n")
	if len(in) != len(out) {
		t.Fatalf("rewrite(auth.proto) has %d lines, want %d", len(out), len(in))
	}

	for i := range in {
		named := strings.Contains(in[i], "v1") || strings.Contains(in[i], `"1.0"`)
		if changed := in[i] != out[i]; changed != named {
			t.Errorf("line %d: %q became %q", i+1, in[i], out[i])
		}
	}
}

func TestImplMethod(t *testing.T) {
	for _, tt := range []struct {
		service string
		n       int
		want    string
	}{
		{"AuthService", 1, "authServiceV1"},
		{"Catalog", 12, "catalogV12"},
		{"HTTPProxy", 2, "httpProxyV2"},
		{"API", 3, "apiV3"},
	} {
		if got := implMethod(tt.service, tt.n); got != tt.want {
			t.Errorf("implMethod(%q, %d) = %q, want %q", tt.service, tt.n, got, tt.want)
		}
	}
}
