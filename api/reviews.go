package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"strings"
	"time"

	"github.com/gofiber/fiber/v3"

	"github.com/hyperlieu/hyperlieu"
	"github.com/hyperlieu/hyperlieu/fan"
)

// reviewRoutes are public reviews of shops: writing (customers who came),
// reading (any customer; admins also see hidden ones), reporting, and the
// shop staff's answer and hiding; plus a public JSON feed and widget.
func (s *Server) reviewRoutes() []route {
	shopStaff := only(hyperlieu.RoleManager, hyperlieu.RoleAdmin)
	return []route{
		{method: "POST", path: "/v1/shops/:id/reviews", op: "writeReview", access: signedIn,
			summary: "Rate a shop with a public comment (only after a check-in or redemption there in the visit window)",
			in:      reviewRequest{}, out: reviewResponse{}, status: 201, errs: []int{403, 429}, handler: s.postReview},
		{method: "GET", path: "/v1/shops/:id/reviews", op: "listReviews", access: signedIn,
			summary: "A page of a shop's public reviews, newest first, and the count and average of all (admins also see hidden ones)",
			query:   pageQuery100{}, out: reviewsResponse{}, handler: s.getReviews},
		{method: "POST", path: "/v1/shops/:id/reviews/:rid/reports", op: "reportReview", access: signedIn,
			summary: "Report a review to the shop's staff (once per customer)", in: reportRequest{}, status: 204, handler: s.postReviewReport},
		{method: "PUT", path: "/v1/shops/:id/reviews/:rid/answer", op: "answerReview", access: shopStaff,
			summary: "Publish the shop's answer under a review", in: answerRequest{}, out: reviewResponse{}, handler: s.putReviewAnswer},
		{method: "POST", path: "/v1/shops/:id/reviews/:rid/hide", op: "hideReview", access: shopStaff,
			summary: "Take a review out of public view, with a reason (admins still see it)", in: hideRequest{}, out: reviewResponse{}, handler: s.postHideReview},
		{method: "GET", path: "/feeds/shops/:id/reviews.json", op: "getShopReviewFeed", access: public,
			summary: "A shop's public reviews and average as JSON (CORS open)", out: reviewsResponse{}, handler: s.getReviewFeed},
		{method: "GET", path: "/widgets/shops/:id/reviews", op: "getShopReviewWidget", access: public,
			summary: "A self-contained HTML widget of a shop's public reviews for an iframe",
			query:   widgetQuery{}, content: "text/html", handler: s.getReviewWidget},
	}
}

type reviewRequest struct {
	Rating      int    `json:"rating" api:"required,min=1,max=5"`
	Comment     string `json:"comment" api:"required,maxLength=1000" doc:"Shown publicly, as text"`
	DisplayName string `json:"displayName,omitempty" api:"maxLength=40" doc:"Shown as the author; the first name otherwise"`
}

type reportRequest struct {
	Reason string `json:"reason,omitempty" api:"maxLength=300"`
}

type answerRequest struct {
	Text string `json:"text" api:"required,maxLength=1000"`
}

type hideRequest struct {
	Reason string `json:"reason" api:"required,maxLength=300"`
}

type reviewAnswer struct {
	Text string    `json:"text"`
	At   time.Time `json:"at"`
}

// reviewResponse is a review as the public sees it: no user ID, the visit
// as a month only. Hidden and its reason are set for admins only.
type reviewResponse struct {
	ID              string        `json:"id"`
	Rating          int           `json:"rating"`
	Comment         string        `json:"comment"`
	Author          string        `json:"author"`
	At              time.Time     `json:"at"`
	VisitedMonth    string        `json:"visitedMonth" doc:"YYYY-MM of the visit that allowed the review"`
	Answer          *reviewAnswer `json:"answer,omitempty"`
	GestureAnswered bool          `json:"gestureAnswered" doc:"The shop answered privately with a gesture (its content is private)"`
	Hidden          bool          `json:"hidden,omitempty"`
	HideReason      string        `json:"hideReason,omitempty"`
	Reports         int           `json:"reports,omitempty" doc:"Staff only"`
}

type reviewsResponse struct {
	ShopID   string           `json:"shopId"`
	ShopName string           `json:"shopName"`
	Count    int              `json:"count"`
	Average  float64          `json:"average"`
	Reviews  []reviewResponse `json:"reviews"`
	Next     string           `json:"nextCursor,omitempty" doc:"The cursor of the next page; absent on the last"`
}

// pageQuery100 pages a list staff or readers go through, 100 at a time
// unless asked.
type pageQuery100 struct {
	Cursor string `query:"cursor" doc:"nextCursor of the previous page"`
	Limit  int    `query:"limit" api:"min=1,max=100,default=100" doc:"a page may hold fewer and still have a next one"`
}

func newReviewResponse(r fan.Review, staff bool) reviewResponse {
	out := reviewResponse{ID: r.ID, Rating: r.Rating, Comment: r.Comment, Author: r.Author, At: r.At,
		VisitedMonth: r.VisitedAt.Format("2006-01"), GestureAnswered: r.GestureAnswered}
	if r.Answer != "" {
		out.Answer = &reviewAnswer{Text: r.Answer, At: r.AnsweredAt}
	}
	if staff {
		out.Hidden, out.HideReason, out.Reports = r.Hidden, r.HideReason, r.Reports
	}
	return out
}

func newReviewsResponse(sr fan.ShopReviews, staff bool) reviewsResponse {
	out := reviewsResponse{ShopID: sr.ShopID, ShopName: sr.ShopName, Count: sr.Count, Average: sr.Average, Reviews: make([]reviewResponse, 0, len(sr.Reviews)), Next: sr.Next}
	for _, r := range sr.Reviews {
		out.Reviews = append(out.Reviews, newReviewResponse(r, staff))
	}
	return out
}

func isAdmin(a hyperlieu.Actor) bool {
	for _, r := range a.Roles {
		if r == hyperlieu.RoleAdmin {
			return true
		}
	}
	return false
}

// postReview handles POST /v1/shops/{id}/reviews.
func (s *Server) postReview(c fiber.Ctx) error {
	var in reviewRequest
	if err := decode(c, &in); err != nil {
		return err
	}
	r, err := s.svc.Reviews.Write(c.Context(), userID(c), c.Params("id"), fan.ReviewRequest{Rating: in.Rating, Comment: in.Comment, DisplayName: in.DisplayName})
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(newReviewResponse(r, false))
}

// getReviews handles GET /v1/shops/{id}/reviews.
func (s *Server) getReviews(c fiber.Ctx) error {
	a := actor(c)
	cursor, limit, err := pageParams(c)
	if err != nil {
		return err
	}
	sr, err := s.svc.Reviews.ListPage(c.Context(), a, c.Params("id"), cursor, limit)
	if err != nil {
		return err
	}
	return c.JSON(newReviewsResponse(sr, isAdmin(a)))
}

// postReviewReport handles POST /v1/shops/{id}/reviews/{rid}/reports.
func (s *Server) postReviewReport(c fiber.Ctx) error {
	var in reportRequest
	if len(c.Body()) > 0 {
		if err := decode(c, &in); err != nil {
			return err
		}
	}
	if err := s.svc.Reviews.Report(c.Context(), userID(c), c.Params("id"), c.Params("rid"), in.Reason); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

// putReviewAnswer handles PUT /v1/shops/{id}/reviews/{rid}/answer.
func (s *Server) putReviewAnswer(c fiber.Ctx) error {
	var in answerRequest
	if err := decode(c, &in); err != nil {
		return err
	}
	r, err := s.svc.Reviews.Answer(c.Context(), actor(c), c.Params("id"), c.Params("rid"), in.Text)
	if err != nil {
		return err
	}
	return c.JSON(newReviewResponse(r, true))
}

// postHideReview handles POST /v1/shops/{id}/reviews/{rid}/hide.
func (s *Server) postHideReview(c fiber.Ctx) error {
	var in hideRequest
	if err := decode(c, &in); err != nil {
		return err
	}
	r, err := s.svc.Reviews.Hide(c.Context(), actor(c), c.Params("id"), c.Params("rid"), in.Reason)
	if err != nil {
		return err
	}
	return c.JSON(newReviewResponse(r, true))
}

// getReviewFeed handles GET /feeds/shops/{id}/reviews.json: what anyone may
// read, so never hidden reviews.
func (s *Server) getReviewFeed(c fiber.Ctx) error {
	sr, err := s.svc.Reviews.List(c.Context(), hyperlieu.Actor{}, c.Params("id"))
	if err != nil {
		return err
	}
	body, err := json.Marshal(newReviewsResponse(sr, false))
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderAccessControlAllowOrigin, "*")
	c.Set(fiber.HeaderCacheControl, "public, max-age=60")
	c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	c.Set(fiber.HeaderContentType, "application/json; charset=utf-8")
	return c.Send(body)
}

var reviewWidgetText = map[string]struct{ Title, Empty, Average, Visited, Answer, Gesture string }{
	"en": {"Reviews", "No reviews yet.", "%.1f / 5 from %d reviews", "visited in %s", "The shop's answer", "Answered by the shop"},
	"fr": {"Avis", "Pas encore d'avis.", "%.1f / 5 sur %d avis", "visite en %s", "Réponse de la boutique", "La boutique a répondu"},
}

// html/template escapes every value: a comment is text, never HTML.
var reviewWidgetPage = template.Must(template.New("reviews").Parse(`<!doctype html>
<html lang="{{.Lang}}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Shop}} — {{.Title}}</title>
<style>body{font:15px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;padding:12px;color:#222;background:#fff}
h1{font-size:17px;margin:0 0 4px}ul{list-style:none;margin:0;padding:0}li{border-top:1px solid #e5e5e5;padding:8px 0}
.meta{color:#555;font-size:13px}.answer{margin:6px 0 0 12px;padding-left:8px;border-left:3px solid #ddd}.stars{color:#b80}
p{margin:4px 0;white-space:pre-wrap}</style>
</head><body><h1>{{.Shop}} — {{.Title}}</h1><div class="meta">{{.Average}}</div>
{{if .Reviews}}<ul>{{range .Reviews}}<li><div><span class="stars">{{.Stars}}</span> <strong>{{.Author}}</strong> <span class="meta">· {{.Visited}}</span></div>
<p>{{.Comment}}</p>{{if .Answer}}<div class="answer"><div class="meta">{{$.AnswerLabel}}</div><p>{{.Answer}}</p></div>{{else if .Gesture}}<div class="answer meta">{{$.GestureLabel}}</div>{{end}}</li>{{end}}</ul>
{{else}}<p>{{.Empty}}</p>{{end}}
</body></html>
`))

// getReviewWidget handles GET /widgets/shops/{id}/reviews.
func (s *Server) getReviewWidget(c fiber.Ctx) error {
	sr, err := s.svc.Reviews.List(c.Context(), hyperlieu.Actor{}, c.Params("id"))
	if err != nil {
		return err
	}
	lang := c.Query("lang")
	if _, ok := reviewWidgetText[lang]; !ok {
		lang = "en"
	}
	tx, months := reviewWidgetText[lang], widgetText[lang].Months
	type item struct {
		Stars, Author, Visited, Comment, Answer string
		Gesture                                 bool
	}
	data := struct {
		Lang, Shop, Title, Empty, Average, AnswerLabel, GestureLabel string
		Reviews                                                      []item
	}{Lang: lang, Shop: sr.ShopName, Title: tx.Title, Empty: tx.Empty, Average: fmt.Sprintf(tx.Average, sr.Average, sr.Count),
		AnswerLabel: tx.Answer, GestureLabel: tx.Gesture}
	for _, r := range sr.Reviews {
		data.Reviews = append(data.Reviews, item{Stars: strings.Repeat("★", r.Rating) + strings.Repeat("☆", 5-r.Rating),
			Author: r.Author, Visited: fmt.Sprintf(tx.Visited, months[r.VisitedAt.Month()-1]), Comment: r.Comment,
			Answer: r.Answer, Gesture: r.GestureAnswered})
	}
	var b bytes.Buffer
	if err := reviewWidgetPage.Execute(&b, data); err != nil {
		return err
	}
	// Nothing may load or run; partner sites may frame the page.
	c.Set(fiber.HeaderContentSecurityPolicy, "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors *")
	c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	c.Set(fiber.HeaderCacheControl, "public, max-age=60")
	c.Set(fiber.HeaderContentType, "text/html; charset=utf-8")
	return c.Send(b.Bytes())
}
