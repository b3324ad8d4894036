package api

import (
	"encoding/json"
	"math"
	"time"

	"github.com/gofiber/fiber/v3"

	"github.com/hyperlieu/hyperlieu/campaign"
	"github.com/hyperlieu/hyperlieu/geo"
)

// locationRoutes are the customers' location reports.
func (s *Server) locationRoutes() []route {
	return []route{
		{method: "POST", path: "/v1/me/location", op: "reportLocation", access: signedIn,
			summary: "Report a location (or up to 100 in points); returns offers triggered now and offers nearby. Needs locationConsent. A retry (same Idempotency-Key header, or the same reports with their recordedAt) within 24 h returns the first answer.",
			in:      locationRequest{}, out: locationResponse{}, errs: []int{403, 409}, handler: s.postLocation},
	}
}

type locationPoint struct {
	Lat        *float64   `json:"lat" doc:"A report without a valid position is rejected, not the request"`
	Lng        *float64   `json:"lng"`
	AccuracyM  float64    `json:"accuracyM,omitempty" doc:"Metres, as the device reports it"`
	RecordedAt *time.Time `json:"recordedAt,omitempty" doc:"Default: now"`
}

// locationRequest is one report, or a batch in points.
// (The fields are repeated rather than embedded so that a type error
// names "lat", not "locationPoint.lat".)
type locationRequest struct {
	Lat        *float64        `json:"lat"`
	Lng        *float64        `json:"lng"`
	AccuracyM  float64         `json:"accuracyM,omitempty"`
	RecordedAt *time.Time      `json:"recordedAt,omitempty"`
	Points     []locationPoint `json:"points,omitempty" doc:"At most 100: a batch, oldest first, instead of lat and lng"`
}

func (p locationPoint) report() campaign.LocationReport {
	r := campaign.LocationReport{Point: geo.Point{Lat: math.NaN(), Lng: math.NaN()}, AccuracyM: p.AccuracyM}
	if p.Lat != nil {
		r.Point.Lat = *p.Lat
	}
	if p.Lng != nil {
		r.Point.Lng = *p.Lng
	}
	if p.RecordedAt != nil {
		r.RecordedAt = *p.RecordedAt
	}
	return r
}

type reportProblem struct {
	Index  int    `json:"index"`
	Field  string `json:"field,omitempty"`
	Reason string `json:"reason" api:"enum=invalid|stale|inaccurate|implausible"`
	Detail string `json:"detail"`
}

type nearbyOffer struct {
	CampaignID string  `json:"campaignId"`
	Title      string  `json:"title"`
	ShopID     string  `json:"shopId,omitempty"`
	DistanceM  float64 `json:"distanceM"`
}

type nearbyJSON struct {
	Offers []nearbyOffer `json:"offers"`
}

type locationResponse struct {
	Cell      string          `json:"cell,omitempty"`
	Accepted  int             `json:"accepted"`
	Triggered []offerResponse `json:"triggered"`
	Rejected  []reportProblem `json:"rejected"`
	Ignored   []reportProblem `json:"ignored"`
	Nearby    nearbyJSON      `json:"nearby"`
}

func problemsJSON(ps []campaign.ReportProblem) []reportProblem {
	out := make([]reportProblem, len(ps))
	for i, p := range ps {
		out[i] = reportProblem(p)
	}
	return out
}

// postLocation handles POST /v1/me/location.
func (s *Server) postLocation(c fiber.Ctx) error {
	var in locationRequest
	if err := decode(c, &in); err != nil {
		return err
	}
	batch := in.Points != nil
	var reports []campaign.LocationReport
	if batch {
		for _, p := range in.Points {
			reports = append(reports, p.report())
		}
	} else {
		reports = []campaign.LocationReport{locationPoint{Lat: in.Lat, Lng: in.Lng, AccuracyM: in.AccuracyM, RecordedAt: in.RecordedAt}.report()}
	}
	// A retry (the same Idempotency-Key, or the same reports) gets the
	// first answer, byte for byte, instead of being processed again.
	key, err := campaign.ReportKey(c.Get("Idempotency-Key"), reports)
	if err != nil {
		return err
	}
	uid := userID(c)
	answer, err := s.svc.Location.ReportOnce(c.Context(), uid, key, reports, batch, func(res campaign.ReportResult) ([]byte, error) {
		return json.Marshal(s.locationAnswer(res))
	})
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSONCharsetUTF8)
	return c.Send(answer)
}

// locationAnswer is the response to a location request that did res.
func (s *Server) locationAnswer(res campaign.ReportResult) locationResponse {
	now := s.svc.Offers.Now()
	out := locationResponse{
		Accepted: res.Accepted, Triggered: make([]offerResponse, len(res.Triggered)),
		Rejected: problemsJSON(res.Rejected), Ignored: problemsJSON(res.Ignored),
		Nearby: nearbyJSON{Offers: make([]nearbyOffer, len(res.Nearby))},
	}
	if res.Cell != 0 {
		out.Cell = res.Cell.String()
	}
	for i, o := range res.Triggered {
		out.Triggered[i] = newOfferResponse(o, now)
	}
	for i, n := range res.Nearby {
		out.Nearby.Offers[i] = nearbyOffer{CampaignID: n.CampaignID, Title: n.Title, ShopID: n.ShopID, DistanceM: n.DistanceM}
	}
	return out
}
