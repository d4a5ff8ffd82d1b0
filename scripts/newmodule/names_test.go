package main

import (
	"go/parser"
	"go/token"
	"path"
	"slices"
	"strconv"
	"strings"
	"testing"

	gqlgentemplates "github.com/99designs/gqlgen/codegen/templates"
	"github.com/google/go-cmp/cmp"
)

const testModulePath = "example.com/app"

func TestNewNames(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name string
		want Names
	}{
		{"payments", Names{
			Name: "payments", Package: "payments", Entity: "Payment", Entities: "Payments",
			EntityField: "Payment", EntitiesField: "Payments", EntitySnake: "payment", EntitiesSnake: "payments",
			Human: "payment", HumanPlural: "payments", Prefix: "payment", GraphQLField: "payment", GraphQLFields: "payments", ListResolver: "Payments", Env: "PAYMENTS",
			Schema: "payments", Table: "payments.payments", StoreType: "PaymentsPayment", ServiceV1: "paymentServiceV1",
		}},
		{"order", Names{
			Name: "order", Package: "order", Entity: "Order", Entities: "Orders",
			EntityField: "Order", EntitiesField: "Orders", EntitySnake: "order", EntitiesSnake: "orders",
			Human: "order", HumanPlural: "orders", Prefix: "order", GraphQLField: "order", GraphQLFields: "orders", ListResolver: "Orders", Env: "ORDER",
			Schema: `"order"`, Table: `"order".orders`, StoreType: "OrderOrder", ServiceV1: "orderServiceV1",
		}},
		{"line_items", Names{
			Name: "line_items", Package: "lineitems", Entity: "LineItem", Entities: "LineItems",
			EntityField: "LineItem", EntitiesField: "LineItems", EntitySnake: "line_item", EntitiesSnake: "line_items",
			Human: "line item", HumanPlural: "line items", Prefix: "line_item", GraphQLField: "lineItem", GraphQLFields: "lineItems", ListResolver: "LineItems", Env: "LINE_ITEMS",
			Schema: "line_items", Table: "line_items.line_items", StoreType: "LineItemsLineItem", ImportName: "lineitems ",
			ServiceV1: "lineItemServiceV1",
		}},
		{"api_keys", Names{
			Name: "api_keys", Package: "apikeys", Entity: "APIKey", Entities: "APIKeys",
			EntityField: "ApiKey", EntitiesField: "ApiKeys", EntitySnake: "api_key", EntitiesSnake: "api_keys",
			Human: "api key", HumanPlural: "api keys", Prefix: "api_key", GraphQLField: "apiKey", GraphQLFields: "apiKeys", ListResolver: "APIKeys", Env: "API_KEYS",
			Schema: "api_keys", Table: "api_keys.api_keys", StoreType: "APIKeysAPIKey", ImportName: "apikeys ",
			ServiceV1: "apiKeyServiceV1",
		}},
		{"s3_buckets", Names{
			Name: "s3_buckets", Package: "s3buckets", Entity: "S3Bucket", Entities: "S3Buckets",
			EntityField: "S3Bucket", EntitiesField: "S3Buckets", EntitySnake: "s3_bucket", EntitiesSnake: "s3_buckets",
			Human: "s3 bucket", HumanPlural: "s3 buckets", Prefix: "s_bucket", GraphQLField: "s3Bucket", GraphQLFields: "s3Buckets", ListResolver: "S3Buckets", Env: "S3_BUCKETS",
			Schema: "s3_buckets", Table: "s3_buckets.s3_buckets", StoreType: "S3BucketsS3Bucket", ImportName: "s3buckets ",
			ServiceV1: "s3BucketServiceV1",
		}},
	}

	for _, tt := range tests {
		got, err := NewNames(testModulePath, tt.name)
		if err != nil {
			t.Errorf("NewNames(%q) = %v", tt.name, err)

			continue
		}

		tt.want.ModulePath = testModulePath
		tt.want.HTTPPort, tt.want.GRPCPort = got.HTTPPort, got.GRPCPort

		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("NewNames(%q) mismatch (-want +got):\n%s", tt.name, diff)
		}

		if got.HTTPPort < 8100 || got.HTTPPort >= 9000 || got.GRPCPort != got.HTTPPort+1000 {
			t.Errorf("NewNames(%q) ports = %d, %d; want 8100-8999 and that plus 1000", tt.name, got.HTTPPort, got.GRPCPort)
		}
	}
}

func TestEntityOfNames(t *testing.T) {
	t.Parallel()

	tests := []struct{ name, entity, entities string }{
		{"products", "Product", "Products"},
		{"payments", "Payment", "Payments"},
		{"categories", "Category", "Categories"},
		{"addresses", "Address", "Addresses"},
		{"order", "Order", "Orders"},
		{"news", "News", "News"},
		{"user_profiles", "UserProfile", "UserProfiles"},
		{"http_routes", "HTTPRoute", "HTTPRoutes"},
	}

	for _, tt := range tests {
		n, err := NewNames(testModulePath, tt.name)
		if err != nil || n.Entity != tt.entity || n.Entities != tt.entities {
			t.Errorf("NewNames(%q) = %s, %s, %v; want %s, %s", tt.name, n.Entity, n.Entities, err, tt.entity, tt.entities)
		}
	}
}

// TestGraphQLNamesAreGqlgens checks that gqlgen gives the Go names the
// resolver template uses (the entity's) to the GraphQL fields and types of
// the module's schema: the resolvers implement gqlgen's interfaces and
// build its models.
func TestGraphQLNamesAreGqlgens(t *testing.T) {
	t.Parallel()

	for initialism := range gqlgentemplates.CommonInitialisms {
		if !initialisms[strings.ToLower(initialism)] {
			t.Errorf("gqlgen's initialism %s is not in initialisms", initialism)
		}
	}

	for _, name := range []string{"products", "line_items", "api_keys", "s3_buckets", "pdf_files", "news", "http_routes"} {
		n := mustNames(t, name)

		if n.GraphQLField == n.GraphQLFields {
			t.Errorf("%s: the GraphQL fields of one and of the list are both %s", name, n.GraphQLField)
		}

		for gql, want := range map[string]string{
			n.GraphQLField: n.Entity, n.GraphQLFields: n.ListResolver, n.GraphQLField + "Id": n.Entity + "ID",
			n.Entity + "CreatedEvent": n.Entity + "CreatedEvent", "create" + n.Entity: "Create" + n.Entity,
		} {
			if got := gqlgentemplates.ToGo(gql); got != want {
				t.Errorf("%s: gqlgen names %s %s, want %s", name, gql, got, want)
			}
		}
	}
}

func TestNewNamesRefuses(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name string
		want string // in the error
	}{
		{"", "lower-case words"},
		{"Payments", "lower-case words"},
		{"1payments", "lower-case words"},
		{"pay-ments", "lower-case words"},
		{"pay__ments", "lower-case words"},
		{"payments_", "lower-case words"},
		{"_payments", "lower-case words"},
		{"line_2", "lower-case words"},
		{"paymënts", "lower-case words"},
		{strings.Repeat("a", 32), "at most 31"},
		{"pg_stats", "pg_"},
		{"auth", "reserved"},
		{"events", "reserved"},
		{"websocket", "reserved"},
		{"registry", "reserved"},
		{"reg_istry", "reserved"},
		{"server", "reserved"},
		{"internal", "reserved"},
		{"testdata", "reserved"},
		{"public", "reserved"},
		{"http_port", "configuration"},
		{"env", "configuration"},
		{"map", "keyword"},
		{"go_to", "keyword"},
		{"string", "predeclared"},
		{"with_txes", "collide"},
		{"spans", "collide"},
		{"status", "reserved"},
		{"modules", "reserved"},
		{"graphql", "reserved"},
		{"exec", "reserved"},
		{"jwt", "JWT_"},
		{"smtp", "SMTP_"},
		{"nats", "NATS_"},
		{"ws", "WS_"},
	}

	for _, tt := range tests {
		if _, err := NewNames(testModulePath, tt.name); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("NewNames(%q) = %v, want an error saying %q", tt.name, err, tt.want)
		}
	}
}

func TestGoCamel(t *testing.T) {
	t.Parallel()

	tests := []struct{ snake, want string }{
		{"payment", "Payment"},
		{"payment_id", "PaymentId"},
		{"api_key_id", "ApiKeyId"},
		{"s3_bucket", "S3Bucket"},
		{"s3bucket", "S3Bucket"},
	}

	for _, tt := range tests {
		if got := goCamel(tt.snake); got != tt.want {
			t.Errorf("goCamel(%q) = %q, want %q", tt.snake, got, tt.want)
		}
	}
}

// TestReservedNamesCoverImports checks that a module cannot be named like
// a package that a generated file importing the module also imports: the
// two names would clash there.
func TestReservedNamesCoverImports(t *testing.T) {
	t.Parallel()

	n := mustNames(t, "probes")

	files, err := render(n)
	if err != nil {
		t.Fatal(err)
	}

	for _, f := range files {
		if !strings.HasSuffix(f.path, ".go") {
			continue
		}

		names := importNames(t, f)
		if !slices.Contains(names, n.Package) {
			continue
		}

		for _, name := range names {
			if !strings.HasPrefix(name, n.Package) && !slices.Contains(reservedNames, name) {
				t.Errorf("%s imports the module and %s: reserve the name %s", f.path, name, name)
			}
		}
	}
}

// importNames returns the names under which the Go file f imports
// packages (the directory's name unless the import names one).
func importNames(t *testing.T, f file) []string {
	t.Helper()

	parsed, err := parser.ParseFile(token.NewFileSet(), f.path, f.data, parser.ImportsOnly)
	if err != nil {
		t.Fatal(err)
	}

	var names []string

	for _, spec := range parsed.Imports {
		p, _ := strconv.Unquote(spec.Path.Value)
		name := path.Base(p)

		if spec.Name != nil {
			name = spec.Name.Name
		}

		names = append(names, name)
	}

	return names
}
