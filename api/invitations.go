package api

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"html/template"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v3"

	"github.com/hyperlieu/hyperlieu"
	"github.com/hyperlieu/hyperlieu/shop"
)

// invitationRoutes are event invitations: a customer's share link, who
// accepted it, the managers' counts, and the public page the link opens.
func (s *Server) invitationRoutes() []route {
	manage := only(hyperlieu.RoleManager, hyperlieu.RoleAdmin)
	return []route{
		{method: "POST", path: "/v1/events/:id/invitations", op: "inviteToEvent", access: signedIn,
			summary: "The caller's invitation to an event they are going to: a personal share link (idempotent)",
			out:     invitationResponse{}, errs: []int{403, 409}, handler: s.postInvitation},
		{method: "GET", path: "/v1/me/invitations", op: "listMyInvitations", access: signedIn,
			summary: "The caller's invitations, with the first names of those who signed up through them",
			out:     []invitationResponse{}, handler: s.getMyInvitations},
		{method: "GET", path: "/v1/events/:id/invitations/stats", op: "getEventInvitationStats", access: manage,
			summary: "Invitations to an event: people who invited, sign-ups through them, and check-ins of those (the shop's managers)",
			out:     invitationStatsResponse{}, handler: s.getInvitationStats},
		{method: "GET", path: "/e/:id", op: "getEventPage", access: public,
			summary: "The public page of an event, as a share link opens it (HTML with Open Graph tags, in the reader's language)",
			query:   eventPageQuery{}, content: "text/html", handler: s.getEventPage},
	}
}

type inviteeResponse struct {
	FirstName string `json:"firstName"`
	CheckedIn bool   `json:"checkedIn"`
}

type invitationResponse struct {
	Code       string            `json:"code"`
	EventID    string            `json:"eventId"`
	EventTitle string            `json:"eventTitle"`
	StartsAt   time.Time         `json:"startsAt"`
	Link       string            `json:"link" doc:"The share link: the event's public page with the code"`
	CreatedAt  time.Time         `json:"createdAt"`
	Invitees   []inviteeResponse `json:"invitees" doc:"Who signed up through the link: first names only"`
}

func newInvitationResponse(c fiber.Ctx, v shop.InvitationView) invitationResponse {
	r := invitationResponse{Code: v.Code, EventID: v.EventID, EventTitle: v.Event.Title, StartsAt: v.Event.StartsAt,
		Link: inviteLink(c, v.EventID, v.Code), CreatedAt: v.CreatedAt, Invitees: make([]inviteeResponse, len(v.Invitees))}
	for i, in := range v.Invitees {
		r.Invitees[i] = inviteeResponse(in)
	}
	return r
}

func inviteLink(c fiber.Ctx, eventID, code string) string {
	return c.BaseURL() + "/e/" + url.PathEscape(eventID) + "?i=" + url.QueryEscape(code)
}

// postInvitation handles POST /v1/events/:id/invitations.
func (s *Server) postInvitation(c fiber.Ctx) error {
	v, err := s.svc.Invitations.Invite(c.Context(), userID(c), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(newInvitationResponse(c, v))
}

// getMyInvitations handles GET /v1/me/invitations.
func (s *Server) getMyInvitations(c fiber.Ctx) error {
	vs, err := s.svc.Invitations.MyInvitations(c.Context(), userID(c))
	if err != nil {
		return err
	}
	out := make([]invitationResponse, len(vs))
	for i, v := range vs {
		out[i] = newInvitationResponse(c, v)
	}
	return c.JSON(out)
}

type invitationStatsResponse struct {
	Sent      int `json:"sent" doc:"People who made an invitation link"`
	Accepted  int `json:"accepted" doc:"Sign-ups through the links"`
	CheckedIn int `json:"checkedIn" doc:"Of those, people who checked in"`
}

// getInvitationStats handles GET /v1/events/:id/invitations/stats.
func (s *Server) getInvitationStats(c fiber.Ctx) error {
	st, err := s.svc.Invitations.Stats(c.Context(), actor(c), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(invitationStatsResponse(st))
}

type eventPageQuery struct {
	I string `query:"i" api:"maxLength=64" doc:"The invitation code of the share link"`
}

// pageText is the public pages' wording per language; dates reuse the
// widget's (widgetText).
var pageText = map[string]struct {
	InvitedBy, Going, Others, SeatsLeft, Full, Cancelled, AddToCalendar, JoinWith, At string
}{
	"en": {"%s invites you", "Going: ", "and %d more", "%d seats left", "Full: join the waitlist in the app", "Cancelled",
		"Add to calendar", "Sign up in the app with the invitation code", "at"},
	"fr": {"%s vous invite", "Participent : ", "et %d autres", "%d places restantes", "Complet : inscrivez-vous sur la liste d'attente dans l'app", "Annulé",
		"Ajouter au calendrier", "Inscrivez-vous dans l'app avec le code d'invitation", "chez"},
}

// pageStyle is the public pages' one style sheet, allowed by its hash:
// the CSP lets nothing else run or load.
const pageStyle = `body{font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;max-width:36em;padding:16px;color:#222;background:#fff}` +
	`h1{font-size:22px;margin:0 0 4px}.shop,.when{color:#555}.cancelled{color:#b00;font-weight:bold}.code{font:18px monospace;letter-spacing:2px}` +
	`a.cal{display:inline-block;margin-top:12px;padding:8px 14px;border:1px solid #333;border-radius:6px;color:#222;text-decoration:none}` +
	`ul{list-style:none;padding:0}li{border-top:1px solid #e5e5e5;padding:8px 0}`

// pageCSP is the Content-Security-Policy of the public HTML pages.
func pageCSP(frameAncestors string) string {
	sum := sha256.Sum256([]byte(pageStyle))
	return "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) +
		"'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors " + frameAncestors
}

var eventPage = template.Must(template.New("event").Parse(`<!doctype html>
<html lang="{{.Lang}}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} — {{.Shop}}</title>
<meta name="description" content="{{.Summary}}">
<meta property="og:type" content="website">
<meta property="og:site_name" content="Hyperlieu">
<meta property="og:title" content="{{.Title}}">
<meta property="og:description" content="{{.Summary}}">
<meta property="og:url" content="{{.URL}}">
<meta property="og:locale" content="{{.OGLocale}}">
<meta name="twitter:card" content="summary">
<meta name="twitter:title" content="{{.Title}}">
<meta name="twitter:description" content="{{.Summary}}">
<style>{{.Style}}</style>
</head><body>
{{if .Inviter}}<p>{{.Inviter}}</p>{{end}}
<h1>{{.Title}}</h1>
<p class="shop">{{.At}} {{.Shop}}{{if .Address}}, {{.Address}}{{end}}</p>
<p class="when"><time datetime="{{.ISO}}">{{.When}}</time></p>
{{if .Cancelled}}<p class="cancelled">{{.Cancelled}}</p>{{else}}<p>{{.Seats}}</p>{{end}}
{{if .Description}}<p>{{.Description}}</p>{{end}}
{{if .Going}}<p>{{.GoingLabel}}{{.Going}}{{if .Others}} {{.Others}}{{end}}</p>{{end}}
{{if .Code}}<p>{{.JoinWith}}: <span class="code">{{.Code}}</span></p>{{end}}
<a class="cal" href="{{.ICS}}">{{.AddToCalendar}}</a>
</body></html>
`))

// getEventPage handles GET /e/:id.
func (s *Server) getEventPage(c fiber.Ctx) error {
	p, err := s.svc.Invitations.Page(c.Context(), c.Params("id"), c.Query("i"))
	if err != nil {
		return err
	}
	lang := pageLang(c.Get(fiber.HeaderAcceptLanguage))
	tx := pageText[lang]
	t := p.Event.StartsAt.In(p.Shop.Zone())
	when := widgetWhen(lang, t)
	data := map[string]any{
		"Lang": lang, "OGLocale": map[string]string{"en": "en_GB", "fr": "fr_FR"}[lang], "Style": template.CSS(pageStyle),
		"Title": p.Event.Title, "Shop": p.Shop.Name, "Address": p.Shop.Address, "At": tx.At, "Description": p.Event.Description,
		"When": when, "ISO": t.Format(time.RFC3339), "Summary": when + " · " + p.Shop.Name,
		"URL": c.BaseURL() + "/e/" + url.PathEscape(p.Event.ID), "ICS": "/v1/events/" + url.PathEscape(p.Event.ID) + ".ics",
		"AddToCalendar": tx.AddToCalendar, "GoingLabel": tx.Going, "Going": strings.Join(p.Going, ", "),
		"Code": p.Code, "JoinWith": tx.JoinWith, "Seats": tx.Full,
	}
	if p.Inviter != "" {
		data["Inviter"] = fmt.Sprintf(tx.InvitedBy, p.Inviter)
	}
	if p.MoreGoing > 0 {
		data["Others"] = fmt.Sprintf(tx.Others, p.MoreGoing)
	}
	if p.SeatsLeft > 0 {
		data["Seats"] = fmt.Sprintf(tx.SeatsLeft, p.SeatsLeft)
	}
	if p.Event.Cancelled() {
		data["Cancelled"] = tx.Cancelled
	}
	var b bytes.Buffer
	if err := eventPage.Execute(&b, data); err != nil {
		return err
	}
	c.Set(fiber.HeaderContentSecurityPolicy, pageCSP("'none'"))
	c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	c.Set("Referrer-Policy", "no-referrer") // the code in the URL stays here
	c.Set(fiber.HeaderCacheControl, "private, max-age=60")
	c.Set(fiber.HeaderVary, "Accept-Language")
	c.Set(fiber.HeaderContentType, "text/html; charset=utf-8")
	return c.Send(b.Bytes())
}

// pageLang picks fr or en from an Accept-Language header by quality, the
// first listed winning ties; en when neither is asked for.
func pageLang(header string) string {
	best, bestQ := "en", -1.0
	for _, part := range strings.Split(header, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				q = f
			}
		}
		base, _, _ := strings.Cut(strings.ToLower(tag), "-")
		if _, known := pageText[base]; known && q > 0 && q > bestQ {
			best, bestQ = base, q
		}
	}
	return best
}
