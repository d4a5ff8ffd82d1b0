package notifier

import (
	"bytes"
	"fmt"
	htmltemplate "html/template"
	"io"
	"io/fs"
	"strings"
	texttemplate "text/template"
)

// Templates renders the messages of one module from files in its own
// embedded folder, four per kind of message: <kind>.subject.txt (the email
// subject), <kind>.txt and <kind>.html (the email's text and HTML parts,
// the HTML escaped) and <kind>.sms.txt (the text message).
type Templates struct {
	text *texttemplate.Template
	html *htmltemplate.Template
}

// ParseTemplates parses the *.txt and *.html files at the root of fsys.
func ParseTemplates(fsys fs.FS) (*Templates, error) {
	text, err := texttemplate.ParseFS(fsys, "*.txt")
	if err != nil {
		return nil, fmt.Errorf("parse text templates: %w", err)
	}

	html, err := htmltemplate.ParseFS(fsys, "*.html")
	if err != nil {
		return nil, fmt.Errorf("parse HTML templates: %w", err)
	}

	return &Templates{text: text.Option("missingkey=error"), html: html.Option("missingkey=error")}, nil
}

// Render renders the message of kind with data.
func (t *Templates) Render(kind string, data any) (Message, error) {
	var (
		m   Message
		err error
	)

	render := func(tmpl templateSet, name string) string {
		if err != nil {
			return ""
		}

		var b bytes.Buffer
		if err = tmpl.ExecuteTemplate(&b, name, data); err != nil {
			err = fmt.Errorf("render %s: %w", name, err)
		}

		return b.String()
	}

	m.Subject = strings.TrimSpace(render(t.text, kind+".subject.txt"))
	m.Text = render(t.text, kind+".txt")
	m.HTML = render(t.html, kind+".html")
	m.SMS = strings.TrimSpace(render(t.text, kind+".sms.txt"))

	if err != nil {
		return Message{}, err
	}

	return m, nil
}

// templateSet is what text/template and html/template have in common.
type templateSet interface {
	ExecuteTemplate(w io.Writer, name string, data any) error
}
