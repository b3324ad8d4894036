package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"slices"
	"strings"
	"time"

	"github.com/gofiber/fiber/v3"

	"github.com/hyperlieu/hyperlieu"
	"github.com/hyperlieu/hyperlieu/fan"
	"github.com/hyperlieu/hyperlieu/shop"
)

// personalFeedRoutes are a customer's feeds at secret URLs they create,
// renew and revoke: a calendar of their events, and a widget (HTML and
// JSON) of their points, offers and next events. The feeds themselves are
// public: the secret in the path is all they check, and all it opens.
func (s *Server) personalFeedRoutes() []route {
	return []route{
		{method: "POST", path: "/v1/me/feeds/calendar", op: "createMyCalendarFeed", access: signedIn,
			summary: "A new secret URL for the caller's calendar feed (webcal); the previous one stops working",
			out:     personalFeedResponse{}, status: 201, handler: s.postFeed(fan.FeedCalendar)},
		{method: "DELETE", path: "/v1/me/feeds/calendar", op: "revokeMyCalendarFeed", access: signedIn,
			summary: "Revoke the caller's calendar feed URL", status: 204, handler: s.deleteFeed(fan.FeedCalendar)},
		{method: "POST", path: "/v1/me/feeds/widget", op: "createMyWidgetFeed", access: signedIn,
			summary: "New secret URLs for the caller's personal widget and its JSON feed; the previous ones stop working",
			out:     personalFeedResponse{}, status: 201, handler: s.postFeed(fan.FeedWidget)},
		{method: "DELETE", path: "/v1/me/feeds/widget", op: "revokeMyWidgetFeed", access: signedIn,
			summary: "Revoke the caller's widget URLs", status: 204, handler: s.deleteFeed(fan.FeedWidget)},
		{method: "GET", path: "/feeds/:secret.ics", op: "getPersonalCalendar", access: public,
			summary: "A customer's events (going and waitlisted) as iCalendar, at their secret URL",
			content: "text/calendar", handler: s.getPersonalICS},
		{method: "GET", path: "/feeds/:secret.json", op: "getPersonalFeed", access: public,
			summary: "A customer's points, active offers and next events as JSON, at their secret URL (read-only, first name only)",
			out:     personalFeed{}, handler: s.getPersonalJSON},
		{method: "GET", path: "/widgets/:secret", op: "getPersonalWidget", access: public,
			summary: "A customer's self-contained HTML widget: points, active offers, next events",
			query:   widgetQuery{}, content: "text/html", handler: s.getPersonalWidget},
	}
}

type personalFeedResponse struct {
	Kind      string    `json:"kind" api:"enum=calendar|widget"`
	URL       string    `json:"url" doc:"The calendar's ICS, or the widget's page"`
	WebcalURL string    `json:"webcalUrl,omitempty" doc:"The calendar's URL for subscribing (webcal://)"`
	JSONURL   string    `json:"jsonUrl,omitempty" doc:"The widget's JSON feed"`
	CreatedAt time.Time `json:"createdAt"`
}

// postFeed handles POST /v1/me/feeds/calendar and /v1/me/feeds/widget.
func (s *Server) postFeed(kind string) fiber.Handler {
	return func(c fiber.Ctx) error {
		secret, at, err := s.svc.PersonalFeeds.CreateFeed(c.Context(), userID(c), kind)
		if err != nil {
			return err
		}
		base := c.BaseURL()
		r := personalFeedResponse{Kind: kind, CreatedAt: at}
		if kind == fan.FeedCalendar {
			r.URL = base + "/feeds/" + secret + ".ics"
			_, host, _ := strings.Cut(base, "://")
			r.WebcalURL = "webcal://" + host + "/feeds/" + secret + ".ics"
		} else {
			r.URL, r.JSONURL = base+"/widgets/"+secret, base+"/feeds/"+secret+".json"
		}
		c.Set(fiber.HeaderCacheControl, "no-store")
		return c.Status(fiber.StatusCreated).JSON(r)
	}
}

// deleteFeed handles DELETE /v1/me/feeds/calendar and /v1/me/feeds/widget.
func (s *Server) deleteFeed(kind string) fiber.Handler {
	return func(c fiber.Ctx) error {
		if err := s.svc.PersonalFeeds.RevokeFeed(c.Context(), userID(c), kind); err != nil {
			return err
		}
		return noContent(c)
	}
}

// getPersonalICS handles GET /feeds/:secret.ics.
func (s *Server) getPersonalICS(c fiber.Ctx) error {
	uid, err := s.svc.PersonalFeeds.FeedOwner(c.Context(), c.Params("secret"), fan.FeedCalendar)
	if err != nil {
		return err
	}
	now := time.Now()
	// Past events stay a month, so that a calendar keeps what happened.
	evs, err := s.svc.Events.MyEvents(c.Context(), uid, now.AddDate(0, -1, 0))
	if err != nil {
		return err
	}
	var b bytes.Buffer
	line := func(name, value string) { writeFolded(&b, name+":"+value) }
	line("BEGIN", "VCALENDAR")
	line("VERSION", "2.0")
	line("PRODID", "-//Hyperlieu//My events//EN")
	line("CALSCALE", "GREGORIAN")
	line("METHOD", "PUBLISH")
	line("X-WR-CALNAME", "Hyperlieu")
	line("REFRESH-INTERVAL;VALUE=DURATION", "PT1H")
	line("X-PUBLISHED-TTL", "PT1H")
	for _, me := range evs {
		writeVEvent(&b, me.Shop, me.Event, now, me.Status == shop.Waitlisted)
	}
	line("END", "VCALENDAR")
	c.Set(fiber.HeaderContentType, "text/calendar; charset=utf-8")
	c.Set(fiber.HeaderCacheControl, "private, max-age=300")
	c.Set("Referrer-Policy", "no-referrer")
	return c.Send(b.Bytes())
}

// personalFeed is what a customer's widget shows, as JSON: a first name,
// points, offers and events, and nothing that acts for them (no tokens,
// no ticket codes, no ids of theirs).
type personalFeed struct {
	FirstName string              `json:"firstName"`
	Points    int                 `json:"points"`
	Tier      string              `json:"tier"`
	Offers    []personalFeedOffer `json:"offers" doc:"Active offers, soonest to expire first"`
	Events    []personalFeedEvent `json:"events" doc:"Next events going to or waitlisted for, by start"`
	Generated time.Time           `json:"generatedAt"`
}

type personalFeedOffer struct {
	Title     string    `json:"title"`
	Value     string    `json:"value"`
	Code      string    `json:"code" doc:"Shown at the till; revoke the URL if it leaks"`
	ExpiresAt time.Time `json:"expiresAt"`
}

type personalFeedEvent struct {
	Title    string    `json:"title"`
	Shop     string    `json:"shop"`
	StartsAt time.Time `json:"startsAt"`
	EndsAt   time.Time `json:"endsAt"`
	Status   string    `json:"status" api:"enum=going|waitlisted|cancelled"`
	Timezone string    `json:"timezone"`
}

// maxFeedItems bounds the offers and events a personal feed lists.
const maxFeedItems = 20

// personal builds the personal feed of the widget secret's owner.
func (s *Server) personal(c fiber.Ctx) (personalFeed, error) {
	uid, err := s.svc.PersonalFeeds.FeedOwner(c.Context(), c.Params("secret"), fan.FeedWidget)
	if err != nil {
		return personalFeed{}, err
	}
	u, err := s.svc.Accounts.Me(c.Context(), uid)
	if err != nil {
		return personalFeed{}, err
	}
	l, err := s.svc.Fans.Loyalty(c.Context(), uid)
	if err != nil {
		return personalFeed{}, err
	}
	now := time.Now()
	f := personalFeed{FirstName: u.FirstName(), Points: l.Balance, Tier: l.Tier, Offers: []personalFeedOffer{}, Events: []personalFeedEvent{}, Generated: now.UTC()}
	offers, err := s.svc.Offers.Wallet(c.Context(), uid)
	if err != nil {
		return personalFeed{}, err
	}
	at := s.svc.Offers.Now()
	for _, o := range offers {
		if o.State(at) == "active" && len(f.Offers) < maxFeedItems {
			f.Offers = append(f.Offers, personalFeedOffer{Title: o.Title, Value: o.Value, Code: o.Code, ExpiresAt: o.ExpiresAt})
		}
	}
	slices.SortFunc(f.Offers, func(a, b personalFeedOffer) int { return a.ExpiresAt.Compare(b.ExpiresAt) })
	evs, err := s.svc.Events.MyEvents(c.Context(), uid, now)
	if err != nil {
		return personalFeed{}, err
	}
	for _, me := range evs {
		if len(f.Events) == maxFeedItems {
			break
		}
		st := string(me.Status)
		if me.Event.Cancelled() {
			st = "cancelled"
		}
		f.Events = append(f.Events, personalFeedEvent{Title: me.Event.Title, Shop: me.Shop.Name, StartsAt: me.Event.StartsAt,
			EndsAt: me.Event.EndsAt, Status: st, Timezone: me.Shop.Timezone})
	}
	return f, nil
}

// getPersonalJSON handles GET /feeds/:secret.json.
func (s *Server) getPersonalJSON(c fiber.Ctx) error {
	f, err := s.personal(c)
	if err != nil {
		return err
	}
	body, err := json.Marshal(f)
	if err != nil {
		return err
	}
	// Partner pages read it from the browser; it carries no credential.
	c.Set(fiber.HeaderAccessControlAllowOrigin, "*")
	c.Set(fiber.HeaderCacheControl, "private, max-age=60")
	c.Set("Referrer-Policy", "no-referrer")
	c.Set(fiber.HeaderContentType, "application/json; charset=utf-8")
	return c.Send(body)
}

var personalWidgetPage = template.Must(template.New("personal").Parse(`<!doctype html>
<html lang="{{.Lang}}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>{{.Hello}}</title>
<style>{{.Style}}</style>
</head><body><h1>{{.Hello}}</h1>
<p><strong>{{.Feed.Points}}</strong> {{.PointsLabel}}{{if .Feed.Tier}} · {{.Feed.Tier}}{{end}}</p>
<h1>{{.OffersLabel}}</h1>{{if .Feed.Offers}}<ul>{{range .Feed.Offers}}<li><strong>{{.Title}}</strong>{{if .Value}} — {{.Value}}{{end}}<br><span class="code">{{.Code}}</span></li>{{end}}</ul>{{else}}<p>{{.None}}</p>{{end}}
<h1>{{.EventsLabel}}</h1>{{if .Events}}<ul>{{range .Events}}<li><strong>{{.Title}}</strong>{{if .Note}} <span class="cancelled">{{.Note}}</span>{{end}}<br><span class="when"><time datetime="{{.ISO}}">{{.When}}</time> · {{.Shop}}</span></li>{{end}}</ul>{{else}}<p>{{.None}}</p>{{end}}
</body></html>
`))

// personalText is the personal widget's wording per language.
var personalText = map[string]struct{ Hello, Points, Offers, Events, None, Waitlisted, Cancelled string }{
	"en": {"Hello %s", "points", "Your offers", "Your next events", "Nothing yet.", "waitlisted", "cancelled"},
	"fr": {"Bonjour %s", "points", "Vos offres", "Vos prochains événements", "Rien pour l'instant.", "liste d'attente", "annulé"},
}

// getPersonalWidget handles GET /widgets/:secret.
func (s *Server) getPersonalWidget(c fiber.Ctx) error {
	f, err := s.personal(c)
	if err != nil {
		return err
	}
	lang := c.Query("lang")
	if _, ok := personalText[lang]; !ok {
		lang = pageLang(c.Get(fiber.HeaderAcceptLanguage))
	}
	tx := personalText[lang]
	type event struct{ Title, Shop, When, ISO, Note string }
	var evs []event
	for _, e := range f.Events {
		t := e.StartsAt.In(hyperlieu.Zone(e.Timezone))
		ev := event{Title: e.Title, Shop: e.Shop, ISO: t.Format(time.RFC3339), When: widgetWhen(lang, t)}
		switch e.Status {
		case "waitlisted":
			ev.Note = tx.Waitlisted
		case "cancelled":
			ev.Note = tx.Cancelled
		}
		evs = append(evs, ev)
	}
	data := map[string]any{"Lang": lang, "Style": template.CSS(pageStyle), "Hello": fmt.Sprintf(tx.Hello, f.FirstName), "Feed": f,
		"PointsLabel": tx.Points, "OffersLabel": tx.Offers, "EventsLabel": tx.Events, "None": tx.None, "Events": evs}
	var b bytes.Buffer
	if err := personalWidgetPage.Execute(&b, data); err != nil {
		return err
	}
	// Home-screen widgets and partner pages frame it; nothing loads or runs.
	c.Set(fiber.HeaderContentSecurityPolicy, pageCSP("*"))
	c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	c.Set("Referrer-Policy", "no-referrer")
	c.Set(fiber.HeaderCacheControl, "private, max-age=60")
	c.Set(fiber.HeaderContentType, "text/html; charset=utf-8")
	return c.Send(b.Bytes())
}
