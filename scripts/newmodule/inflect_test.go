package main

import "testing"

func TestSingular(t *testing.T) {
	t.Parallel()

	tests := []struct{ plural, want string }{
		{"payments", "payment"},
		{"products", "product"},
		{"categories", "category"},
		{"addresses", "address"},
		{"classes", "class"},
		{"statuses", "status"},
		{"buses", "bus"},
		{"boxes", "box"},
		{"batches", "batch"},
		{"wishes", "wish"},
		{"keys", "key"},
		{"cases", "case"},
		{"responses", "response"},
		{"houses", "house"},
		{"causes", "cause"},
		{"archives", "archive"},
		{"echoes", "echo"},
		{"people", "person"},
		{"children", "child"},
		{"movies", "movie"},
		{"caches", "cache"},
		{"aliases", "alias"},
		{"analyses", "analysis"},
		{"menus", "menu"},
		{"wolves", "wolf"},
		{"indices", "index"},
		{"indexes", "index"},
		{"news", "news"},
		{"series", "series"},
		{"data", "data"},
		// Already singular.
		{"order", "order"},
		{"payment", "payment"},
		{"address", "address"},
		{"status", "status"},
		{"analysis", "analysis"},
		{"alias", "alias"},
		{"person", "person"},
	}

	for _, tt := range tests {
		if got := singular(tt.plural); got != tt.want {
			t.Errorf("singular(%q) = %q, want %q", tt.plural, got, tt.want)
		}
	}
}

func TestPlural(t *testing.T) {
	t.Parallel()

	tests := []struct{ singular, want string }{
		{"payment", "payments"},
		{"order", "orders"},
		{"category", "categories"},
		{"key", "keys"},
		{"address", "addresses"},
		{"status", "statuses"},
		{"box", "boxes"},
		{"batch", "batches"},
		{"wish", "wishes"},
		{"buzz", "buzzes"},
		{"analysis", "analyses"},
		{"person", "people"},
		{"index", "indexes"},
		{"photo", "photos"},
		{"hero", "heroes"},
		{"news", "news"},
		{"y", "ys"},
	}

	for _, tt := range tests {
		if got := plural(tt.singular); got != tt.want {
			t.Errorf("plural(%q) = %q, want %q", tt.singular, got, tt.want)
		}
	}
}

// TestRoundTrip checks that the entity of a plural name pluralizes back to
// the name, so List<Entities> is spelled as the module is.
func TestRoundTrip(t *testing.T) {
	t.Parallel()

	for _, word := range []string{
		"payments", "products", "categories", "addresses", "orders", "users", "invoices", "companies",
		"statuses", "boxes", "batches", "keys", "people", "children", "movies", "caches", "aliases",
		"analyses", "menus", "wolves", "news", "series", "responses", "archives", "entries", "policies",
	} {
		if got := plural(singular(word)); got != word {
			t.Errorf("plural(singular(%q)) = plural(%q) = %q, want %q", word, singular(word), got, word)
		}
	}
}
