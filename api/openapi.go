package api

import (
	"encoding/json"
	"net/http"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v3"

	"github.com/hyperlieu/hyperlieu"
)

// getOpenAPI handles GET /openapi.json.
func (s *Server) getOpenAPI(c fiber.Ctx) error {
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSONCharsetUTF8)
	return c.Send(s.docJSON)
}

var pathParam = regexp.MustCompile(`:([A-Za-z0-9_]+)\??`)

// tags are the API's areas, in the order a reader meets them.
var tags = []map[string]any{
	{"name": "service", "description": "Health, readiness, metrics and this document."},
	{"name": "accounts", "description": "Sign-up, sign-in, tokens, the caller's profile, and users for admins."},
	{"name": "feeds", "description": "A shop's events for other sites: iCalendar, JSON Feed and an HTML widget. Public."},
	{"name": "events", "description": "Events at shops, RSVPs, waitlists, check-ins and feedback."},
	{"name": "shops", "description": "Shops, their managers, search, import and export, and what is nearby."},
	{"name": "fans", "description": "Loyalty points, tiers, rewards, referrals, segments, shop feedback and goodwill gestures, and the customer's own data."},
	{"name": "campaigns", "description": "Geofenced campaigns: create, run, preview the zone, measure."},
	{"name": "location", "description": "Customers' location reports, which trigger campaigns."},
	{"name": "offers", "description": "The customer's wallet of offers and redemption at the till."},
	{"name": "notifications", "description": "Push devices, the inbox, and the admins' view of the outbox."},
	{"name": "audit", "description": "The admins' audit trail of staff acts that move value."},
}

// errorName names a shared error response (#/components/responses).
func errorName(status int) string {
	return strings.NewReplacer(" ", "", "-", "").Replace(http.StatusText(status))
}

// buildOpenAPI makes the OpenAPI 3.1 document from the route table, so that
// no route can be served without being described. It fills s.docSchemas,
// which validation then uses.
func (s *Server) buildOpenAPI() map[string]any {
	g := s.docSchemas
	g.of(reflect.TypeFor[problem](), outMode)
	// Responses first, then requests: a type read with other constraints than
	// it is written with is the one that gets the "Input" suffix.
	for _, r := range s.routes {
		if r.out != nil {
			g.of(reflect.TypeOf(r.out), outMode)
		}
	}
	paths := map[string]map[string]any{}
	statuses := map[int]bool{}
	for _, r := range s.routes {
		p := pathParam.ReplaceAllString(r.path, "{$1}")
		if paths[p] == nil {
			paths[p] = map[string]any{}
		}
		op, errs := s.operation(r)
		for _, e := range errs {
			statuses[e] = true
		}
		paths[p][strings.ToLower(r.method)] = op
	}
	responses := map[string]any{}
	for e := range statuses {
		h := map[string]any{"X-Request-ID": hdr("XRequestID")}
		switch e {
		case http.StatusTooManyRequests, http.StatusServiceUnavailable:
			h["Retry-After"] = hdr("RetryAfter")
		case http.StatusUnauthorized:
			h["WWW-Authenticate"] = hdr("WWWAuthenticate")
		}
		responses[errorName(e)] = map[string]any{
			"description": http.StatusText(e) + problemNote[e],
			"headers":     h,
			"content":     map[string]any{"application/problem+json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/Problem"}}},
		}
	}
	schemaComps := map[string]any{}
	for n, sc := range g.comps {
		schemaComps[n] = sc
	}
	return map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{
			"title":   "Hyperlieu API",
			"version": cmpOr(s.opts.Version, "dev"),
			"description": "Geolocated engagement backend: accounts, shops and events, geofenced campaigns, push notifications and loyalty.\n\n" +
				"Every error is application/problem+json (RFC 9457); a 422 lists the offending fields in `errors`, named with dots and [i] " +
				"(`geofence.coordinates[0][3]`). Requests are validated against this very document. Unknown members are ignored. " +
				"Every response carries X-Request-ID.",
			"license": map[string]any{"name": "Apache-2.0", "identifier": "Apache-2.0"},
		},
		"servers":  []any{map[string]any{"url": "/", "description": "The server that serves this document"}},
		"security": []any{map[string]any{"bearer": []string{}}},
		"tags":     tags,
		"paths":    paths,
		"components": map[string]any{
			"securitySchemes": map[string]any{
				"bearer": map[string]any{"type": "http", "scheme": "bearer", "bearerFormat": "JWT (EdDSA)",
					"description": "The accessToken from /v1/auth/login, /v1/auth/register or /v1/auth/refresh."},
			},
			"schemas":   schemaComps,
			"responses": responses,
			"headers": map[string]any{
				"XRequestID":      map[string]any{"description": "Identifies the request in the server's logs; echoed from the request's X-Request-ID when given.", "schema": map[string]any{"type": "string"}},
				"RetryAfter":      map[string]any{"description": "Seconds to wait before trying again.", "schema": map[string]any{"type": "integer", "minimum": 0}},
				"ETag":            map[string]any{"description": "Entity tag of the representation; send it back in If-None-Match.", "schema": map[string]any{"type": "string"}},
				"Location":        map[string]any{"description": "Where the created resource can be read.", "schema": map[string]any{"type": "string", "format": "uri-reference"}},
				"XNextCursor":     map[string]any{"description": "The cursor of the next page, for ?cursor=; absent on the last page.", "schema": map[string]any{"type": "string"}},
				"WWWAuthenticate": map[string]any{"description": "The authentication scheme: Bearer.", "schema": map[string]any{"type": "string"}},
			},
		},
	}
}

var problemNote = map[int]string{
	http.StatusBadRequest:                  ": the body is not readable JSON",
	http.StatusUnprocessableEntity:         ": a value is wrong; errors names each field",
	http.StatusRequestHeaderFieldsTooLarge: ": the request's headers are too large",
	http.StatusRequestEntityTooLarge:       ": the body is larger than the server accepts",
	http.StatusUnsupportedMediaType:        ": the body is not of a media type this operation reads",
	http.StatusServiceUnavailable:          ": a dependency (the database) does not answer; try again after Retry-After",
}

func hdr(name string) map[string]any {
	return map[string]any{"$ref": "#/components/headers/" + name}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// declared returns the statuses a route can answer: its success, what its
// access, body, parameters and zone imply, and its own errs.
func (r route) declared(params []queryParam) []int {
	set := map[int]bool{r.successStatus(): true, 500: true, 431: true}
	if r.tag != "service" {
		set[503] = true
	}
	if r.in != nil {
		set[400], set[413], set[415], set[422] = true, true, true, true
	}
	if len(params) > 0 {
		set[422] = true
	}
	if !r.access.public {
		set[401] = true
		if len(r.access.roles) > 0 {
			set[403] = true
		}
	}
	if pathParam.MatchString(r.path) {
		set[404] = true
	}
	for _, e := range r.errs {
		set[e] = true
	}
	out := make([]int, 0, len(set))
	for e := range set {
		out = append(out, e)
	}
	sort.Ints(out)
	return out
}

func (r route) successStatus() int {
	if r.status == 0 {
		return http.StatusOK
	}
	return r.status
}

// operation documents one route; it returns the error statuses it uses.
func (s *Server) operation(r route) (map[string]any, []int) {
	g := s.docSchemas
	op := map[string]any{
		"summary":     r.summary,
		"description": r.description(),
		"operationId": r.op,
		"tags":        []string{r.tag},
	}
	var params []any
	for _, m := range pathParam.FindAllStringSubmatch(r.path, -1) {
		params = append(params, map[string]any{"name": m[1], "in": "path", "required": true, "schema": map[string]any{"type": "string", "minLength": 1}})
	}
	qps := g.queryParams(r.query)
	for _, qp := range qps {
		p := map[string]any{"name": qp.name, "in": "query", "schema": qp.schema}
		if qp.required {
			p["required"] = true
		}
		if d, ok := qp.schema["description"]; ok {
			p["description"] = d
		}
		params = append(params, p)
	}
	if len(params) > 0 {
		op["parameters"] = params
	}
	if r.access.public {
		op["security"] = []any{}
	} else if len(r.access.roles) > 0 {
		op["x-roles"] = roleNames(r.access.roles)
	}
	if r.in != nil {
		content := map[string]any{}
		types := r.inTypes
		if len(types) == 0 {
			types = []string{"application/json"}
		}
		for _, t := range types {
			switch {
			case t == "text/csv":
				content[t] = map[string]any{"schema": map[string]any{"type": "string"}}
			default:
				content[t] = map[string]any{"schema": g.of(reflect.TypeOf(r.in), inMode)}
			}
		}
		op["requestBody"] = map[string]any{"required": true, "content": content}
	}
	ok := map[string]any{"description": http.StatusText(r.successStatus())}
	okHeaders := map[string]any{"X-Request-ID": hdr("XRequestID")}
	for _, h := range r.headers {
		okHeaders[h] = hdr(strings.ReplaceAll(h, "-", ""))
	}
	ok["headers"] = okHeaders
	ct := r.content
	switch {
	case len(r.contents) > 0:
		content := map[string]any{}
		for _, t := range r.contents {
			if strings.HasPrefix(t, "text/") {
				content[t] = map[string]any{"schema": map[string]any{"type": "string"}}
			} else {
				content[t] = map[string]any{"schema": g.of(reflect.TypeOf(r.out), outMode)}
			}
		}
		ok["content"] = content
	case r.out != nil:
		if ct == "" {
			ct = "application/json"
		}
		ok["content"] = map[string]any{ct: map[string]any{"schema": g.of(reflect.TypeOf(r.out), outMode)}}
	case ct != "":
		ok["content"] = map[string]any{ct: map[string]any{"schema": map[string]any{"type": "string"}}}
	}
	responses := map[string]any{strconv.Itoa(r.successStatus()): ok}
	var errs []int
	for _, e := range r.declared(qps) {
		switch {
		case e == r.successStatus():
		case e == http.StatusNotModified:
			responses["304"] = map[string]any{"description": "Not Modified: If-None-Match named the current ETag",
				"headers": map[string]any{"X-Request-ID": hdr("XRequestID"), "ETag": hdr("ETag")}}
		default:
			responses[strconv.Itoa(e)] = map[string]any{"$ref": "#/components/responses/" + errorName(e)}
			errs = append(errs, e)
		}
	}
	op["responses"] = responses
	return op, errs
}

// description says who may call the route, after what it does.
func (r route) description() string {
	d := strings.TrimSuffix(r.summary, ".") + "."
	switch {
	case r.access.public:
		d += "\n\nPublic: no token needed."
	case len(r.access.roles) > 0:
		d += "\n\nNeeds a bearer token of a user with one of the roles: " + roleList(r.access.roles) + "."
	default:
		d += "\n\nNeeds a bearer token of any signed-in user."
	}
	return d
}

func roleNames(rs []hyperlieu.Role) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = string(r)
	}
	return out
}

// OpenAPI returns the OpenAPI 3.1 document, as served at /openapi.json.
func (s *Server) OpenAPI() map[string]any {
	var doc map[string]any
	_ = json.Unmarshal(s.docJSON, &doc)
	return doc
}
