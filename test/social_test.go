package test

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

type reviewJSON struct {
	ID           string `json:"id"`
	Rating       int    `json:"rating"`
	Comment      string `json:"comment"`
	Author       string `json:"author"`
	VisitedMonth string `json:"visitedMonth"`
	Answer       *struct {
		Text string `json:"text"`
	} `json:"answer"`
	Hidden     bool   `json:"hidden"`
	HideReason string `json:"hideReason"`
	Reports    int    `json:"reports"`
}

type reviewsJSON struct {
	Count   int          `json:"count"`
	Average float64      `json:"average"`
	Reviews []reviewJSON `json:"reviews"`
}

// A customer who checked in reviews the shop publicly; the review shows,
// escaped, in the API, the feed and the widget; the manager answers; a
// hidden review leaves public view but not the admins'.
func TestPublicReviews(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	admin := s.admin(t)
	at := offset(paris, 1000, 0)
	shop := s.createShop(t, admin.Token, "Boutique", at)
	m := s.managerOf(t, admin, shop, "Max")
	ev := want(t, s.do(t, "POST", "/v1/shops/"+shop+"/events", m.Token, eventBody("Launch night", soon, 5)), http.StatusCreated).JSON(t)
	id := ev["id"].(string)
	ana, ben := s.register(t, "Ana Lima"), s.register(t, "Ben")

	// Ben never came: no public review.
	body := map[string]any{"rating": 5, "comment": "Great"}
	problemOf(t, s.do(t, "POST", "/v1/shops/"+shop+"/reviews", ben.Token, body), http.StatusForbidden)

	want(t, s.do(t, "POST", "/v1/events/"+id+"/rsvp", ana.Token, nil), http.StatusOK)
	want(t, s.do(t, "POST", "/v1/events/"+id+"/checkin", ana.Token, map[string]any{"lat": at[0], "lng": at[1]}), http.StatusCreated)

	p := problemOf(t, s.do(t, "POST", "/v1/shops/"+shop+"/reviews", ana.Token, map[string]any{"rating": 9, "comment": "x"}), http.StatusUnprocessableEntity)
	if f := fields(problemOf(t, s.do(t, "POST", "/v1/shops/"+shop+"/reviews", ana.Token, map[string]any{"rating": 3, "comment": "  "}), http.StatusUnprocessableEntity)); !containsAll(f, "comment") {
		t.Errorf("blank comment fields = %v", f)
	}
	if f := fields(p); !containsAll(f, "rating") {
		t.Errorf("bad review fields = %v", f)
	}
	evil := `<script>alert(1)</script> lovely & "warm"`
	var rv reviewJSON
	want(t, s.do(t, "POST", "/v1/shops/"+shop+"/reviews", ana.Token, map[string]any{"rating": 4, "comment": evil}), http.StatusCreated).Decode(t, &rv)
	if rv.Author != "Ana" || rv.VisitedMonth != time.Now().UTC().Format("2006-01") || rv.Comment != evil {
		t.Errorf("review = %+v, want by Ana, visited this month, comment as written", rv)
	}
	// One per shop in the period.
	problemOf(t, s.do(t, "POST", "/v1/shops/"+shop+"/reviews", ana.Token, map[string]any{"rating": 5, "comment": "again"}), http.StatusTooManyRequests)

	// The rating also went to the private feedback the managers see.
	var fb []map[string]any
	want(t, s.do(t, "GET", "/v1/shops/"+shop+"/feedback", m.Token, nil), http.StatusOK).Decode(t, &fb)
	if len(fb) != 1 || fb[0]["id"] != rv.ID {
		t.Errorf("feedback = %v, want the review's rating", fb)
	}

	var list reviewsJSON
	want(t, s.do(t, "GET", "/v1/shops/"+shop+"/reviews", ben.Token, nil), http.StatusOK).Decode(t, &list)
	if list.Count != 1 || list.Average != 4 || len(list.Reviews) != 1 || list.Reviews[0].Comment != evil {
		t.Errorf("reviews = %+v", list)
	}
	feed := want(t, s.do(t, "GET", "/feeds/shops/"+shop+"/reviews.json", "", nil), http.StatusOK)
	if strings.Contains(string(feed.Body), "<script>") || !strings.Contains(string(feed.Body), `\u003cscript\u003e`) {
		t.Errorf("feed does not escape the comment: %s", feed.Body)
	}
	widget := want(t, s.do(t, "GET", "/widgets/shops/"+shop+"/reviews", "", nil), http.StatusOK)
	if strings.Contains(string(widget.Body), "<script>") || !strings.Contains(string(widget.Body), "&lt;script&gt;") {
		t.Errorf("widget does not escape the comment: %s", widget.Body)
	}
	if csp := widget.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("widget CSP = %q", csp)
	}
	if !strings.Contains(string(widget.Body), "visited in") {
		t.Errorf("widget does not say the visit: %s", widget.Body)
	}

	// The manager answers publicly; a customer cannot.
	problemOf(t, s.do(t, "PUT", "/v1/shops/"+shop+"/reviews/"+rv.ID+"/answer", ana.Token, map[string]any{"text": "x"}), http.StatusForbidden)
	want(t, s.do(t, "PUT", "/v1/shops/"+shop+"/reviews/"+rv.ID+"/answer", m.Token, map[string]any{"text": "Thanks <b>Ana</b>!"}), http.StatusOK)
	want(t, s.do(t, "GET", "/v1/shops/"+shop+"/reviews", ben.Token, nil), http.StatusOK).Decode(t, &list)
	if len(list.Reviews) != 1 || list.Reviews[0].Answer == nil || list.Reviews[0].Answer.Text != "Thanks <b>Ana</b>!" {
		t.Errorf("answer not shown: %+v", list)
	}
	widget = want(t, s.do(t, "GET", "/widgets/shops/"+shop+"/reviews", "", nil), http.StatusOK)
	if !strings.Contains(string(widget.Body), "Thanks &lt;b&gt;Ana&lt;/b&gt;!") {
		t.Errorf("widget answer: %s", widget.Body)
	}

	// Reports (once per customer), then hiding with a reason.
	want(t, s.do(t, "POST", "/v1/shops/"+shop+"/reviews/"+rv.ID+"/reports", ben.Token, map[string]any{"reason": "rude"}), http.StatusNoContent)
	want(t, s.do(t, "POST", "/v1/shops/"+shop+"/reviews/"+rv.ID+"/reports", ben.Token, nil), http.StatusNoContent)
	problemOf(t, s.do(t, "POST", "/v1/shops/"+shop+"/reviews/"+rv.ID+"/hide", m.Token, map[string]any{}), http.StatusUnprocessableEntity)
	want(t, s.do(t, "POST", "/v1/shops/"+shop+"/reviews/"+rv.ID+"/hide", m.Token, map[string]any{"reason": "personal data"}), http.StatusOK)
	want(t, s.do(t, "GET", "/v1/shops/"+shop+"/reviews", ben.Token, nil), http.StatusOK).Decode(t, &list)
	if list.Count != 0 || len(list.Reviews) != 0 {
		t.Errorf("hidden review still public: %+v", list)
	}
	if feed := want(t, s.do(t, "GET", "/feeds/shops/"+shop+"/reviews.json", "", nil), http.StatusOK); strings.Contains(string(feed.Body), rv.ID) {
		t.Errorf("hidden review in the feed: %s", feed.Body)
	}
	want(t, s.do(t, "GET", "/v1/shops/"+shop+"/reviews", admin.Token, nil), http.StatusOK).Decode(t, &list)
	if len(list.Reviews) != 1 || !list.Reviews[0].Hidden || list.Reviews[0].HideReason != "personal data" || list.Reviews[0].Reports != 1 || list.Reviews[0].Comment != evil {
		t.Errorf("admin view = %+v, want the hidden review, its reason, one report, the comment untouched", list)
	}
	problemOf(t, s.do(t, "GET", "/v1/shops/nope/reviews", ben.Token, nil), http.StatusNotFound)
}
