package api

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestWriteFolded(t *testing.T) {
	tests := []struct {
		name, in string
	}{
		{"short", "SUMMARY:Launch"},
		{"exactly 75", "DESCRIPTION:" + strings.Repeat("a", 63)},
		{"long ascii", "DESCRIPTION:" + strings.Repeat("abc", 80)},
		{"long multibyte", "DESCRIPTION:" + strings.Repeat("é—", 60)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			writeFolded(&b, tt.in)
			out := b.String()
			if !strings.HasSuffix(out, "\r\n") {
				t.Fatalf("writeFolded(%q) = %q, want a CRLF end", tt.in, out)
			}
			lines := strings.Split(strings.TrimSuffix(out, "\r\n"), "\r\n")
			var joined strings.Builder
			for i, l := range lines {
				if len(l) > 75 || !utf8.ValidString(l) {
					t.Errorf("line %d = %q (%d octets), want at most 75 valid UTF-8", i, l, len(l))
				}
				if i > 0 {
					if !strings.HasPrefix(l, " ") {
						t.Errorf("continuation %d = %q, want a leading space", i, l)
					}
					l = l[1:]
				}
				joined.WriteString(l)
			}
			if joined.String() != tt.in {
				t.Errorf("unfolded = %q, want %q", joined.String(), tt.in)
			}
		})
	}
}

func TestICSText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", "plain"},
		{"a;b,c\\d", `a\;b\,c\\d`},
		{"two\nlines\r", `two\nlines`},
	}
	for _, tt := range tests {
		if got := icsText(tt.in); got != tt.want {
			t.Errorf("icsText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
