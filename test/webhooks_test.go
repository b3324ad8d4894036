package test

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"testing"
)

type streamEvent struct {
	ID   string            `json:"id"`
	Type string            `json:"type"`
	Data map[string]string `json:"data"`
}

// readStream reads GET /v1/admin/events?after=cursor as NDJSON.
func readStream(t *testing.T, s *server, token, cursor string) []streamEvent {
	t.Helper()
	r := want(t, s.do(t, "GET", "/v1/admin/events?after="+cursor, token, nil), http.StatusOK)
	if ct := r.Header.Get("Content-Type"); ct != "application/x-ndjson" {
		t.Errorf("Content-Type = %q, want application/x-ndjson", ct)
	}
	var out []streamEvent
	sc := bufio.NewScanner(bytes.NewReader(r.Body))
	for sc.Scan() {
		var e streamEvent
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		out = append(out, e)
	}
	return out
}

// The event stream carries account.erased with the id only, is for admins
// only, and resumes from a cursor after a restart on the same data.
func TestEventStreamResumesAfterRestart(t *testing.T) {
	env := map[string]string{"HYPERLIEU_EVENTS_STREAM_LAG": "-1s"}
	s := startServer(t, env)
	env["HYPERLIEU_DATA_DIR"] = s.DataDir
	admin := s.admin(t)
	a, b := s.register(t, "Erased A"), s.register(t, "Erased B")
	want(t, s.do(t, "GET", "/v1/admin/events", a.Token, nil), http.StatusForbidden)
	want(t, s.do(t, "DELETE", "/v1/me", a.Token, nil), http.StatusNoContent)
	want(t, s.do(t, "DELETE", "/v1/me", b.Token, nil), http.StatusNoContent)
	first := readStream(t, s, admin.Token, "")
	if len(first) != 2 || first[0].Type != "account.erased" || first[0].Data["userRef"] != userRef(a.ID) || first[1].Data["userRef"] != userRef(b.ID) {
		t.Fatalf("stream = %+v, want account.erased for %s then %s", first, a.ID, b.ID)
	}
	if len(first[0].Data) != 1 {
		t.Errorf("event data = %v, want the user id alone", first[0].Data)
	}
	cursor := first[1].ID
	want(t, s.do(t, "GET", "/v1/admin/events?limit=0", admin.Token, nil), http.StatusUnprocessableEntity)
	s.Stop(t)

	s2 := startServer(t, env)
	admin = s2.admin(t)
	c := s2.register(t, "Erased C")
	want(t, s2.do(t, "DELETE", "/v1/me", c.Token, nil), http.StatusNoContent)
	next := readStream(t, s2, admin.Token, cursor)
	if len(next) != 1 || next[0].Data["userRef"] != userRef(c.ID) || next[0].ID <= cursor {
		t.Errorf("stream after %s = %+v, want only account.erased for %s, after the cursor", cursor, next, c.ID)
	}
	if all := readStream(t, s2, admin.Token, ""); len(all) != 3 {
		t.Errorf("whole stream after restart has %d events, want 3", len(all))
	}
}

// userRef is account.erased's reference to a person: the hex SHA-256 of the id.
func userRef(id string) string {
	h := sha256.Sum256([]byte(id))
	return hex.EncodeToString(h[:])
}
