package api

import (
	"bytes"
	"html/template"
	"strings"
	"testing"
)

func TestPageLang(t *testing.T) {
	for _, c := range []struct{ header, want string }{
		{"", "en"},
		{"fr-FR,fr;q=0.9,en;q=0.8", "fr"},
		{"de-DE,de;q=0.9,fr;q=0.5,en;q=0.4", "fr"},
		{"en-GB,fr;q=0.9", "en"},
		{"fr;q=0, en;q=0.1", "en"},
		{"FR", "fr"},
		{"es, *;q=0.5", "en"},
	} {
		if got := pageLang(c.header); got != c.want {
			t.Errorf("pageLang(%q) = %q, want %q", c.header, got, c.want)
		}
	}
}

// The CSP allows the pages' style by its hash: the rendered element must
// hold exactly the hashed text.
func TestPageStyleMatchesItsHash(t *testing.T) {
	for name, tpl := range map[string]*template.Template{"event": eventPage, "personal": personalWidgetPage} {
		var b bytes.Buffer
		if err := tpl.Execute(&b, map[string]any{"Style": template.CSS(pageStyle), "Feed": personalFeed{}}); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(b.String(), "<style>"+pageStyle+"</style>") {
			t.Errorf("%s page does not hold the hashed style verbatim:\n%s", name, b.String())
		}
	}
}
