package fcmfake

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"
)

// tokenLifetime is how long an issued access token stays valid, as at Google.
const tokenLifetime = time.Hour

// ServiceAccountJSON returns a new service-account key for projectID, with a
// freshly generated RSA key that the fake's token endpoint trusts, and a
// token_uri pointing at it.
func (s *Server) ServiceAccountJSON(projectID string) []byte {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic("fcmfake: generate RSA key: " + err.Error()) // crypto/rand does not fail
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		panic("fcmfake: marshal RSA key: " + err.Error())
	}
	id := make([]byte, 20)
	rand.Read(id)
	keyID := hex.EncodeToString(id)
	email := fmt.Sprintf("fcmfake-%s@%s.iam.gserviceaccount.com", keyID[:8], projectID)

	s.mu.Lock()
	s.keys[email] = &key.PublicKey
	s.mu.Unlock()

	b, err := json.MarshalIndent(map[string]string{
		"type":                        "service_account",
		"project_id":                  projectID,
		"private_key_id":              keyID,
		"private_key":                 string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email":                email,
		"client_id":                   "1" + keyID[:20],
		"auth_uri":                    "https://accounts.google.com/o/oauth2/auth",
		"token_uri":                   s.TokenURL(),
		"auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
		"universe_domain":             "googleapis.com",
	}, "", "  ")
	if err != nil {
		panic("fcmfake: marshal service account: " + err.Error())
	}
	return b
}

// WriteServiceAccount writes ServiceAccountJSON(projectID) to a new file in
// dir, readable only by its owner, and returns its path.
func (s *Server) WriteServiceAccount(dir, projectID string) (path string, err error) {
	f, err := os.CreateTemp(dir, "fcmfake-service-account-*.json")
	if err != nil {
		return "", err
	}
	if _, err := f.Write(s.ServiceAccountJSON(projectID)); err != nil {
		f.Close()
		return "", err
	}
	return f.Name(), f.Close()
}

// token handles POST /token: the OAuth2 JWT-bearer grant (RFC 7523) that
// service accounts use.
func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		oauthError(w, "invalid_request", "Malformed form body.")
		return
	}
	if gt := r.PostForm.Get("grant_type"); gt != "urn:ietf:params:oauth:grant-type:jwt-bearer" {
		oauthError(w, "unsupported_grant_type", "Invalid grant_type: "+gt)
		return
	}
	scopes, err := s.verifyAssertion(r.PostForm.Get("assertion"))
	if err != nil {
		oauthError(w, "invalid_grant", err.Error())
		return
	}

	b := make([]byte, 24)
	rand.Read(b)
	access := "ya29.fcmfake-" + base64.RawURLEncoding.EncodeToString(b)
	s.mu.Lock()
	s.tokens[access] = tokenInfo{scopes: scopes, expires: time.Now().Add(tokenLifetime)}
	s.mu.Unlock()

	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	json.NewEncoder(w).Encode(map[string]any{
		"access_token": access,
		"token_type":   "Bearer",
		"expires_in":   int(tokenLifetime / time.Second),
	})
}

// verifyAssertion checks a signed JWT as Google does, and returns the scopes
// it asks for.
func (s *Server) verifyAssertion(jwt string) (scopes []string, err error) {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return nil, errors.New("Invalid JWT: not three dot-separated parts.")
	}
	var header struct {
		Alg string `json:"alg"`
	}
	var claims struct {
		Iss   string `json:"iss"`
		Scope string `json:"scope"`
		Aud   string `json:"aud"`
		Exp   int64  `json:"exp"`
		Iat   int64  `json:"iat"`
	}
	if err := decodeSegment(parts[0], &header); err != nil {
		return nil, errors.New("Invalid JWT header.")
	}
	if err := decodeSegment(parts[1], &claims); err != nil {
		return nil, errors.New("Invalid JWT claims.")
	}
	if header.Alg != "RS256" {
		return nil, fmt.Errorf("Invalid JWT algorithm %q.", header.Alg)
	}
	s.mu.Lock()
	pub, ok := s.keys[claims.Iss]
	s.mu.Unlock()
	if !ok {
		return nil, errors.New("Invalid JWT Signature.") // what Google says for an unknown key
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return nil, errors.New("Invalid JWT Signature.")
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig) != nil {
		return nil, errors.New("Invalid JWT Signature.")
	}
	now := time.Now().Unix()
	switch {
	case claims.Aud != s.TokenURL():
		return nil, fmt.Errorf("Invalid JWT: audience %q is not %q.", claims.Aud, s.TokenURL())
	case claims.Exp <= now || claims.Iat > now+300:
		return nil, errors.New("Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe.")
	case claims.Scope == "":
		return nil, errors.New("Invalid OAuth scope or ID token audience provided.")
	}
	return strings.Fields(claims.Scope), nil
}

func decodeSegment(seg string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

func oauthError(w http.ResponseWriter, code, desc string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusBadRequest)
	json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": desc})
}

// authorize reports whether r carries a live access token with a scope that
// allows sending; if not, it writes Google's 401 or 403.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) bool {
	s.mu.Lock()
	t, ok := s.tokens[bearer(r)]
	s.mu.Unlock()
	if !ok || time.Now().After(t.expires) {
		writeError(w, http.StatusUnauthorized, "UNAUTHENTICATED",
			"Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.", "", nil)
		return false
	}
	if !slices.Contains(t.scopes, "https://www.googleapis.com/auth/firebase.messaging") &&
		!slices.Contains(t.scopes, "https://www.googleapis.com/auth/cloud-platform") {
		writeError(w, http.StatusForbidden, "PERMISSION_DENIED", "Request had insufficient authentication scopes.", "", nil)
		return false
	}
	return true
}
