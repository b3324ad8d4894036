package api

import "testing"

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
