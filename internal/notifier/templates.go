package notifier

import (
	"fmt"
	"html"
	"io/fs"
	"reflect"
	"strings"
	"text/template/parse"
)

// Templates renders the messages of one module from files in its own
// embedded folder, four per kind of message: <kind>.subject.txt (the email
// subject), <kind>.txt and <kind>.html (the email's text and HTML parts,
// the HTML escaped) and <kind>.sms.txt (the text message).
//
// A template is text with {{.Field}} placeholders, filled from the data's
// field (a struct) or key (a map with string keys) of that name; in an
// .html file the value is HTML-escaped, so place it in text or a quoted
// attribute, not in a script or a URL. Nothing else of Go's templates is
// accepted: executing them looks methods up by name, which keeps every
// exported method of every type in the binary (some 14 MB of the
// server's), and a message needs no logic its data cannot carry.
type Templates struct {
	byName map[string]template
}

// template is a parsed file: text and placeholders in turn.
type template struct {
	parts []part
	html  bool
}

// part is literal text, or the placeholder of a field when field is set.
type part struct {
	text, field string
}

// ParseTemplates parses the *.txt and *.html files at the root of fsys.
func ParseTemplates(fsys fs.FS) (*Templates, error) {
	t := &Templates{byName: make(map[string]template)}

	for _, ext := range []string{".txt", ".html"} {
		names, err := fs.Glob(fsys, "*"+ext)
		if err == nil && len(names) == 0 {
			err = fmt.Errorf("no *%s file", ext)
		}

		if err != nil {
			return nil, fmt.Errorf("parse templates: %w", err)
		}

		for _, name := range names {
			src, err := fs.ReadFile(fsys, name)
			if err != nil {
				return nil, fmt.Errorf("parse templates: %w", err)
			}

			tmpl, err := parseTemplate(name, string(src))
			if err != nil {
				return nil, err
			}

			tmpl.html = ext == ".html"
			t.byName[name] = tmpl
		}
	}

	return t, nil
}

// parseTemplate reads src with Go's template syntax and accepts only text
// and {{.Field}} actions.
func parseTemplate(name, src string) (template, error) {
	trees, err := parse.Parse(name, src, "", "")
	if err != nil {
		return template{}, fmt.Errorf("parse template: %w", err)
	}

	var tmpl template

	for treeName, tree := range trees {
		if treeName != name {
			return template{}, fmt.Errorf("template %s: {{define}} is not supported: write %s as a file of its own", name, treeName)
		}

		if tree.Root == nil {
			continue
		}

		for _, n := range tree.Root.Nodes {
			p, err := partOf(n)
			if err != nil {
				return template{}, fmt.Errorf("template %s: %w", name, err)
			}

			tmpl.parts = append(tmpl.parts, p)
		}
	}

	return tmpl, nil
}

func partOf(n parse.Node) (part, error) {
	switch n := n.(type) {
	case *parse.TextNode:
		return part{text: string(n.Text)}, nil
	case *parse.ActionNode:
		if p := n.Pipe; len(p.Decl) == 0 && len(p.Cmds) == 1 && len(p.Cmds[0].Args) == 1 {
			if f, ok := p.Cmds[0].Args[0].(*parse.FieldNode); ok && len(f.Ident) == 1 {
				return part{field: f.Ident[0]}, nil
			}
		}
	}

	return part{}, fmt.Errorf("%s: only text and {{.Field}} placeholders are supported", n)
}

// Render renders the message of kind with data.
func (t *Templates) Render(kind string, data any) (Message, error) {
	var (
		m   Message
		err error
	)

	render := func(name string) string {
		if err != nil {
			return ""
		}

		var s string
		if s, err = t.execute(name, data); err != nil {
			err = fmt.Errorf("render %s: %w", name, err)
		}

		return s
	}

	m.Subject = strings.TrimSpace(render(kind + ".subject.txt"))
	m.Text = render(kind + ".txt")
	m.HTML = render(kind + ".html")
	m.SMS = strings.TrimSpace(render(kind + ".sms.txt"))

	if err != nil {
		return Message{}, err
	}

	return m, nil
}

func (t *Templates) execute(name string, data any) (string, error) {
	tmpl, ok := t.byName[name]
	if !ok {
		return "", fmt.Errorf("no template %s", name)
	}

	var b strings.Builder

	for _, p := range tmpl.parts {
		if p.field == "" {
			b.WriteString(p.text)

			continue
		}

		v, err := field(data, p.field)
		if err != nil {
			return "", err
		}

		if tmpl.html {
			v = html.EscapeString(v)
		}

		b.WriteString(v)
	}

	return b.String(), nil
}

// field formats data's field or key name.
func field(data any, name string) (string, error) {
	v := reflect.ValueOf(data)
	for v.Kind() == reflect.Pointer && !v.IsNil() {
		v = v.Elem()
	}

	switch v.Kind() {
	case reflect.Struct:
		if f, ok := v.Type().FieldByName(name); ok && f.IsExported() {
			return fmt.Sprint(v.FieldByIndex(f.Index).Interface()), nil
		}
	case reflect.Map:
		if v.Type().Key().Kind() == reflect.String {
			if e := v.MapIndex(reflect.ValueOf(name).Convert(v.Type().Key())); e.IsValid() {
				return fmt.Sprint(e.Interface()), nil
			}
		}
	default:
	}

	return "", fmt.Errorf("no field or key %s in %T", name, data)
}
