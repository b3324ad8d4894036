package api

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html/template"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v3"
	"github.com/hyperlieu/hyperlieu/shop"
)

// feedRoutes carry a shop's events to other sites: calendar and JSON feeds
// and an embeddable widget. They are public: events are not secret.
func (s *Server) feedRoutes() []route {
	return []route{
		{method: "GET", path: "/feeds/shops/:id/events.ics", op: "getShopCalendar", access: public, summary: "A shop's upcoming events as an iCalendar feed (RFC 5545)",
			content: "text/calendar", handler: s.getShopICS},
		{method: "GET", path: "/feeds/shops/:id/events.json", op: "getShopFeed", access: public,
			summary: "A shop's upcoming events as a JSON Feed 1.1 (CORS open, ETag, 304 on If-None-Match)",
			out:     jsonFeed{}, content: "application/feed+json", headers: []string{"ETag"}, errs: []int{304}, handler: s.getShopJSONFeed},
		{method: "GET", path: "/widgets/shops/:id/events", op: "getShopWidget", access: public,
			summary: "A self-contained HTML widget of a shop's upcoming events for an iframe",
			query:   widgetQuery{}, content: "text/html", handler: s.getShopWidget},
	}
}

// feedEvents returns a shop and its events that have not ended.
func (s *Server) feedEvents(c fiber.Ctx) (shop.Shop, []shop.Event, error) {
	return s.svc.Events.ShopEvents(c.Context(), c.Params("id"), time.Now())
}

// getEventICS handles GET /v1/events/:id.ics.
func (s *Server) getEventICS(c fiber.Ctx) error {
	e, sh, err := s.svc.Events.EventWithShop(c.Context(), c.Params("id"))
	if err != nil {
		return err
	}
	return sendICS(c, sh, []shop.Event{e}, e.Title)
}

// getShopICS handles GET /feeds/shops/:id/events.ics.
func (s *Server) getShopICS(c fiber.Ctx) error {
	sh, evs, err := s.feedEvents(c)
	if err != nil {
		return err
	}
	return sendICS(c, sh, evs, sh.Name)
}

func sendICS(c fiber.Ctx, sh shop.Shop, evs []shop.Event, name string) error {
	c.Set(fiber.HeaderContentType, "text/calendar; charset=utf-8")
	c.Set(fiber.HeaderCacheControl, "public, max-age=300")
	c.Set(fiber.HeaderAccessControlAllowOrigin, "*")
	return c.Send(ICalendar(sh, evs, name, time.Now()))
}

// ICalendar renders events of a shop as an RFC 5545 calendar: CRLF line
// ends, lines folded at 75 octets, TEXT escaped, times in UTC (exact in any
// time zone, so no VTIMEZONE is needed), one UID per event for ever.
func ICalendar(sh shop.Shop, evs []shop.Event, name string, now time.Time) []byte {
	var b bytes.Buffer
	line := func(name, value string) { writeFolded(&b, name+":"+value) }
	line("BEGIN", "VCALENDAR")
	line("VERSION", "2.0")
	line("PRODID", "-//Hyperlieu//Events//EN")
	line("CALSCALE", "GREGORIAN")
	line("METHOD", "PUBLISH")
	line("X-WR-CALNAME", icsText(name))
	line("X-WR-TIMEZONE", sh.Timezone)
	for _, e := range evs {
		writeVEvent(&b, sh, e, now, false)
	}
	line("END", "VCALENDAR")
	return b.Bytes()
}

// writeVEvent writes one event; a tentative one (a waitlist place in a
// personal calendar) says so in its STATUS.
func writeVEvent(b *bytes.Buffer, sh shop.Shop, e shop.Event, now time.Time, tentative bool) {
	line := func(name, value string) { writeFolded(b, name+":"+value) }
	line("BEGIN", "VEVENT")
	line("UID", e.ID+"@hyperlieu")
	line("DTSTAMP", icsTime(now))
	line("DTSTART", icsTime(e.StartsAt))
	line("DTEND", icsTime(e.EndsAt))
	line("CREATED", icsTime(e.CreatedAt))
	line("LAST-MODIFIED", icsTime(e.UpdatedAt))
	// SEQUENCE must grow with every change, even two in one second.
	line("SEQUENCE", fmt.Sprint(e.Revision))
	line("SUMMARY", icsText(e.Title))
	if e.Description != "" {
		line("DESCRIPTION", icsText(e.Description))
	}
	line("LOCATION", icsText(sh.Name+", "+sh.Address))
	line("GEO", fmt.Sprintf("%.6f;%.6f", e.Location.Lat, e.Location.Lng))
	line("CATEGORIES", icsText(e.Category))
	switch {
	case e.Cancelled():
		line("STATUS", "CANCELLED")
	case tentative:
		line("STATUS", "TENTATIVE")
	default:
		line("STATUS", "CONFIRMED")
	}
	line("END", "VEVENT")
}

func icsTime(t time.Time) string { return t.UTC().Format("20060102T150405Z") }

// icsText escapes a TEXT value (RFC 5545 §3.3.11) and drops control characters.
func icsText(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\\' || r == ';' || r == ',':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r < 0x20 || r == 0x7f:
			// CR, tabs and other controls are not allowed in TEXT
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// writeFolded writes a content line, folded so that no line exceeds 75
// octets (continuations start with a space), never inside a UTF-8 sequence.
func writeFolded(b *bytes.Buffer, s string) {
	limit := 75
	for len(s) > limit {
		cut := limit
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		b.WriteString(s[:cut])
		b.WriteString("\r\n ")
		s = s[cut:]
		limit = 74 // the leading space counts
	}
	b.WriteString(s)
	b.WriteString("\r\n")
}

// jsonFeed is a JSON Feed 1.1 (https://jsonfeed.org/version/1.1); events
// details are in the _hyperlieu extension of each item.
type jsonFeed struct {
	Version     string         `json:"version"`
	Title       string         `json:"title"`
	FeedURL     string         `json:"feed_url"`
	Description string         `json:"description"`
	Language    string         `json:"language,omitempty"`
	Items       []jsonFeedItem `json:"items"`
	Shop        feedShop       `json:"_hyperlieu"`
}

type feedShop struct {
	ID       string        `json:"id"`
	Name     string        `json:"name"`
	Address  string        `json:"address"`
	Timezone string        `json:"timezone"`
	Location pointResponse `json:"location"`
}

type jsonFeedItem struct {
	ID            string    `json:"id"`
	URL           string    `json:"url"` // the event's iCalendar
	Title         string    `json:"title"`
	ContentText   string    `json:"content_text"`
	DatePublished time.Time `json:"date_published"`
	DateModified  time.Time `json:"date_modified"`
	Tags          []string  `json:"tags"`
	Event         feedEvent `json:"_hyperlieu"`
}

type feedEvent struct {
	StartsAt     time.Time     `json:"startsAt"`
	EndsAt       time.Time     `json:"endsAt"`
	Status       string        `json:"status"`
	CancelReason string        `json:"cancelReason,omitempty"`
	Capacity     int           `json:"capacity"`
	Location     pointResponse `json:"location"`
}

// getShopJSONFeed handles GET /feeds/shops/:id/events.json.
func (s *Server) getShopJSONFeed(c fiber.Ctx) error {
	sh, evs, err := s.feedEvents(c)
	if err != nil {
		return err
	}
	base := c.BaseURL()
	feed := jsonFeed{
		Version: "https://jsonfeed.org/version/1.1", Title: sh.Name + " — events",
		FeedURL: base + "/feeds/shops/" + sh.ID + "/events.json", Description: "Upcoming events at " + sh.Name,
		Items: make([]jsonFeedItem, 0, len(evs)),
		Shop:  feedShop{ID: sh.ID, Name: sh.Name, Address: sh.Address, Timezone: sh.Timezone, Location: newPoint(sh.Location)},
	}
	for _, e := range evs {
		r := newEventResponse(e)
		feed.Items = append(feed.Items, jsonFeedItem{
			ID: e.ID, URL: base + "/v1/events/" + e.ID + ".ics", Title: e.Title, ContentText: e.Description,
			DatePublished: e.CreatedAt, DateModified: e.UpdatedAt, Tags: []string{e.Category},
			Event: feedEvent{StartsAt: e.StartsAt, EndsAt: e.EndsAt, Status: r.Status, CancelReason: e.CancelReason,
				Capacity: e.Capacity, Location: r.Location},
		})
	}
	body, err := json.Marshal(feed)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(body)
	etag := `"` + hex.EncodeToString(sum[:16]) + `"`
	c.Set(fiber.HeaderAccessControlAllowOrigin, "*")
	c.Set(fiber.HeaderAccessControlExposeHeaders, "ETag")
	c.Set(fiber.HeaderCacheControl, "public, max-age=60")
	c.Set(fiber.HeaderETag, etag)
	c.Set(fiber.HeaderVary, "Accept-Encoding")
	if etagMatches(c.Get(fiber.HeaderIfNoneMatch), etag) {
		return c.SendStatus(fiber.StatusNotModified)
	}
	c.Set(fiber.HeaderContentType, "application/feed+json; charset=utf-8")
	return c.Send(body)
}

// etagMatches implements If-None-Match's weak comparison over a list.
func etagMatches(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" || t == etag {
			return true
		}
	}
	return false
}

// widgetText is the widget's wording per language.
var widgetText = map[string]struct {
	Title, Empty, Cancelled, Full string
	Days, Months                  []string
	Layout                        string // day, date, month, time
}{
	"en": {"Upcoming events", "No upcoming events.", "Cancelled", "seats",
		[]string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"},
		[]string{"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"},
		"%s %d %s, %s"},
	"fr": {"Événements à venir", "Aucun événement à venir.", "Annulé", "places",
		[]string{"dimanche", "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi"},
		[]string{"janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre"},
		"%s %d %s, %s"},
}

// widgetWhen writes t (already in the shop's zone) in lang's words: day,
// date, month and time.
func widgetWhen(lang string, t time.Time) string {
	tx := widgetText[lang]
	return fmt.Sprintf(tx.Layout, tx.Days[t.Weekday()], t.Day(), tx.Months[t.Month()-1], t.Format("15:04"))
}

var widgetPage = template.Must(template.New("widget").Parse(`<!doctype html>
<html lang="{{.Lang}}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Shop}} — {{.Title}}</title>
<style>body{font:15px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;padding:12px;color:#222;background:#fff}
h1{font-size:17px;margin:0 0 10px}ul{list-style:none;margin:0;padding:0}li{border-top:1px solid #e5e5e5;padding:8px 0}
.when{color:#555;font-size:13px}.cancelled{text-decoration:line-through;color:#999}.tag{font-size:12px;color:#b00;margin-left:6px}</style>
</head><body><h1>{{.Shop}} — {{.Title}}</h1>
{{if .Events}}<ul>{{range .Events}}<li><div class="{{if .Cancelled}}cancelled{{end}}"><strong>{{.Title}}</strong>{{if .Cancelled}}<span class="tag">{{$.CancelledLabel}}</span>{{end}}</div>
<div class="when"><time datetime="{{.ISO}}">{{.When}}</time> · {{.Capacity}} {{$.SeatsLabel}}</div></li>{{end}}</ul>
{{else}}<p>{{.Empty}}</p>{{end}}
</body></html>
`))

type widgetEvent struct {
	Title, When, ISO string
	Capacity         int
	Cancelled        bool
}

type widgetQuery struct {
	Lang string `query:"lang" api:"enum=en|fr,default=en"`
}

// getShopWidget handles GET /widgets/shops/:id/events.
func (s *Server) getShopWidget(c fiber.Ctx) error {
	sh, evs, err := s.feedEvents(c)
	if err != nil {
		return err
	}
	lang := c.Query("lang")
	if _, ok := widgetText[lang]; !ok {
		lang = "en"
	}
	tx := widgetText[lang]
	zone := sh.Zone()
	data := struct {
		Lang, Shop, Title, Empty, CancelledLabel, SeatsLabel string
		Events                                               []widgetEvent
	}{Lang: lang, Shop: sh.Name, Title: tx.Title, Empty: tx.Empty, CancelledLabel: tx.Cancelled, SeatsLabel: tx.Full}
	for _, e := range evs {
		t := e.StartsAt.In(zone)
		data.Events = append(data.Events, widgetEvent{Title: e.Title, When: widgetWhen(lang, t), ISO: t.Format(time.RFC3339),
			Capacity: e.Capacity, Cancelled: e.Cancelled()})
	}
	var b bytes.Buffer
	if err := widgetPage.Execute(&b, data); err != nil {
		return err
	}
	// Nothing external may load; partner sites may frame the page.
	c.Set(fiber.HeaderContentSecurityPolicy, "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors *")
	c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	c.Set(fiber.HeaderCacheControl, "public, max-age=60")
	c.Set(fiber.HeaderContentType, "text/html; charset=utf-8")
	return c.Send(b.Bytes())
}
