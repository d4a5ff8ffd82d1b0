package notifier

import (
	"bytes"
	"embed"
	"fmt"
	htmltemplate "html/template"
	"io"
	"strings"
	texttemplate "text/template"
)

//go:embed templates
var templateFS embed.FS

// Template names: one per kind of message.
const (
	KindLoginCode     = "login_code"
	KindContactChange = "contact_change"
)

// CodeData fills the templates of code messages.
type CodeData struct {
	Code      string
	ExpiresIn string // e.g. "10 minutes"
}

// templates holds, per kind, an email subject, text and HTML body, and an
// SMS body: templates/<kind>.subject.txt, .txt, .html and .sms.txt.
type templates struct {
	text *texttemplate.Template
	html *htmltemplate.Template
}

func parseTemplates() (*templates, error) {
	text, err := texttemplate.ParseFS(templateFS, "templates/*.txt")
	if err != nil {
		return nil, fmt.Errorf("parse text templates: %w", err)
	}

	html, err := htmltemplate.ParseFS(templateFS, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("parse HTML templates: %w", err)
	}

	return &templates{text: text, html: html}, nil
}

func (t *templates) email(kind string, data CodeData) (Email, error) {
	subject, err := execute(t.text, kind+".subject.txt", data)
	if err != nil {
		return Email{}, err
	}

	text, err := execute(t.text, kind+".txt", data)
	if err != nil {
		return Email{}, err
	}

	html, err := execute(t.html, kind+".html", data)
	if err != nil {
		return Email{}, err
	}

	return Email{Subject: strings.TrimSpace(subject), Text: text, HTML: html}, nil
}

func (t *templates) sms(kind string, data CodeData) (string, error) {
	body, err := execute(t.text, kind+".sms.txt", data)

	return strings.TrimSpace(body), err
}

// templateSet is what text/template and html/template have in common.
type templateSet interface {
	ExecuteTemplate(w io.Writer, name string, data any) error
}

func execute(tmpl templateSet, name string, data any) (string, error) {
	var b bytes.Buffer
	if err := tmpl.ExecuteTemplate(&b, name, data); err != nil {
		return "", fmt.Errorf("render %s: %w", name, err)
	}

	return b.String(), nil
}
