package notifier_test

import (
	"sync"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"

	"github.com/modulith/modulith/internal/notifier"
)

// welcomeFS holds the four templates of kind "welcome", with the blank
// lines and spaces editors leave around a subject and an SMS.
var welcomeFS = fstest.MapFS{
	"welcome.subject.txt": {Data: []byte("  Welcome, {{.Name}}!\n\n")},
	"welcome.txt":         {Data: []byte("Hello {{.Name}},\nyour code is {{.Code}}.\n")},
	"welcome.html":        {Data: []byte("<p>Hello {{.Name}}, your code is <b>{{.Code}}</b>.</p>\n")},
	"welcome.sms.txt":     {Data: []byte("\n{{.Code}} is your code, {{.Name}}.\n")},
}

type welcome struct {
	Name string
	Code string
}

func parse(t *testing.T, fsys fstest.MapFS) *notifier.Templates {
	t.Helper()

	tmpl, err := notifier.ParseTemplates(fsys)
	if err != nil {
		t.Fatalf("ParseTemplates() = %v", err)
	}

	return tmpl
}

// The subject and the SMS are trimmed, the text and HTML parts kept as
// written; only the HTML part escapes what it is given.
func TestRender(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name string
		data any
		want notifier.Message
	}{
		{
			name: "struct",
			data: welcome{Name: "Ada", Code: "123456"},
			want: notifier.Message{
				Subject: "Welcome, Ada!",
				Text:    "Hello Ada,\nyour code is 123456.\n",
				HTML:    "<p>Hello Ada, your code is <b>123456</b>.</p>\n",
				SMS:     "123456 is your code, Ada.",
			},
		},
		{
			name: "map",
			data: map[string]string{"Name": "Bob", "Code": "654321"},
			want: notifier.Message{
				Subject: "Welcome, Bob!",
				Text:    "Hello Bob,\nyour code is 654321.\n",
				HTML:    "<p>Hello Bob, your code is <b>654321</b>.</p>\n",
				SMS:     "654321 is your code, Bob.",
			},
		},
		{
			name: "pointer to a struct",
			data: &welcome{Name: "Cy", Code: "111111"},
			want: notifier.Message{
				Subject: "Welcome, Cy!",
				Text:    "Hello Cy,\nyour code is 111111.\n",
				HTML:    "<p>Hello Cy, your code is <b>111111</b>.</p>\n",
				SMS:     "111111 is your code, Cy.",
			},
		},
		{
			name: "markup in the data",
			data: welcome{Name: `<script>alert("x")</script>`, Code: "1 & 2"},
			want: notifier.Message{
				Subject: `Welcome, <script>alert("x")</script>!`,
				Text:    "Hello <script>alert(\"x\")</script>,\nyour code is 1 & 2.\n",
				HTML:    "<p>Hello &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;, your code is <b>1 &amp; 2</b>.</p>\n",
				SMS:     `1 & 2 is your code, <script>alert("x")</script>.`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			got, err := parse(t, welcomeFS).Render("welcome", tt.data)
			if err != nil {
				t.Fatalf("Render(welcome, %v) = %v", tt.data, err)
			}

			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Render(welcome, %v) (-want +got):\n%s", tt.data, diff)
			}
		})
	}
}

// A message cannot go out with a part missing or a blank where a value
// should be: Render fails rather than render half a message.
func TestRenderErrors(t *testing.T) {
	t.Parallel()

	withoutHTML := fstest.MapFS{
		"welcome.subject.txt": welcomeFS["welcome.subject.txt"],
		"welcome.txt":         welcomeFS["welcome.txt"],
		"welcome.sms.txt":     welcomeFS["welcome.sms.txt"],
		"other.html":          {Data: []byte("<p>other</p>")},
	}
	withoutSMS := fstest.MapFS{
		"welcome.subject.txt": welcomeFS["welcome.subject.txt"],
		"welcome.txt":         welcomeFS["welcome.txt"],
		"welcome.html":        welcomeFS["welcome.html"],
	}

	// textOnlyKey's Extra appears in the text part only.
	textOnlyKey := fstest.MapFS{
		"note.subject.txt": {Data: []byte("Note")},
		"note.txt":         {Data: []byte("{{.Extra}}")},
		"note.html":        {Data: []byte("<p>Note</p>")},
		"note.sms.txt":     {Data: []byte("Note")},
	}

	tests := []struct {
		name string
		fsys fstest.MapFS
		kind string
		data any
	}{
		{name: "unknown kind", fsys: welcomeFS, kind: "farewell", data: welcome{Name: "Ada", Code: "1"}},
		{name: "no HTML template", fsys: withoutHTML, kind: "welcome", data: welcome{Name: "Ada", Code: "1"}},
		{name: "no SMS template", fsys: withoutSMS, kind: "welcome", data: welcome{Name: "Ada", Code: "1"}},
		{name: "struct without a field", fsys: welcomeFS, kind: "welcome", data: struct{ Name string }{Name: "Ada"}},
		{name: "map without a key", fsys: welcomeFS, kind: "welcome", data: map[string]string{"Name": "Ada"}},
		{name: "map without a key of the text", fsys: textOnlyKey, kind: "note", data: map[string]string{}},
		{name: "no data", fsys: welcomeFS, kind: "welcome", data: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			got, err := parse(t, tt.fsys).Render(tt.kind, tt.data)
			if err == nil {
				t.Errorf("Render(%s, %v) = %+v, want an error", tt.kind, tt.data, got)
			}

			if diff := cmp.Diff(notifier.Message{}, got); diff != "" {
				t.Errorf("Render(%s, %v) returned part of a message with its error (-want +got):\n%s", tt.kind, tt.data, diff)
			}
		})
	}
}

func TestParseTemplatesErrors(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name string
		fsys fstest.MapFS
	}{
		{name: "empty", fsys: fstest.MapFS{}},
		{name: "no HTML", fsys: fstest.MapFS{"welcome.txt": {Data: []byte("hi")}}},
		{name: "no text", fsys: fstest.MapFS{"welcome.html": {Data: []byte("<p>hi</p>")}}},
		{name: "bad text syntax", fsys: fstest.MapFS{
			"welcome.txt": {Data: []byte("{{.Name")}, "welcome.html": {Data: []byte("<p>hi</p>")},
		}},
		{name: "bad HTML syntax", fsys: fstest.MapFS{
			"welcome.txt": {Data: []byte("hi")}, "welcome.html": {Data: []byte("<p>{{if}}</p>")},
		}},
	}
	// Only text and {{.Field}} placeholders are accepted, at parse time.
	for _, unsupported := range []string{
		`{{if .Name}}hi{{end}}`, `{{range .Items}}-{{end}}`, `{{.User.Name}}`, `{{$n := .Name}}{{$n}}`,
		`{{define "x"}}hi{{end}}`, `{{printf "%s" .Name}}`, `{{.Name | html}}`, `{{template "x"}}`, `{{.}}`,
	} {
		tests = append(tests, struct {
			name string
			fsys fstest.MapFS
		}{name: unsupported, fsys: fstest.MapFS{
			"welcome.txt": {Data: []byte("hi " + unsupported)}, "welcome.html": {Data: []byte("<p>hi</p>")},
		}})
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			if _, err := notifier.ParseTemplates(tt.fsys); err == nil {
				t.Errorf("ParseTemplates(%s) = nil error, want one", tt.name)
			}
		})
	}
}

// Modules render from concurrent event handlers: one Templates serves
// them all (run with -race).
func TestRenderConcurrently(t *testing.T) {
	t.Parallel()

	tmpl := parse(t, welcomeFS)

	var wg sync.WaitGroup

	errs := make(chan error, 8)

	for range 8 {
		wg.Go(func() {
			if _, err := tmpl.Render("welcome", welcome{Name: "Ada", Code: "1"}); err != nil {
				errs <- err
			}
		})
	}

	wg.Wait()
	close(errs)

	for err := range errs {
		t.Errorf("Render() = %v", err)
	}
}
