package api

import (
	"strings"
	"time"

	"github.com/gofiber/fiber/v3"

	"github.com/hyperlieu/hyperlieu"
)

func (s *Server) auditRoutes() []route {
	return []route{
		{method: "GET", path: "/v1/admin/audit", op: "getAuditTrail", access: only(hyperlieu.RoleAdmin),
			summary: "The audit trail of gestures, redemptions and hand-recorded activities, oldest first, after a cursor",
			query:   auditQuery{}, out: auditPage{}, handler: s.getAuditTrail},
	}
}

type auditQuery struct {
	After string `query:"after" api:"maxLength=64" doc:"next of the previous page; absent: from the first entry"`
	Limit int    `query:"limit" api:"min=1,max=500,default=100"`
}

type auditEntryResponse struct {
	ID        string    `json:"id"`
	At        time.Time `json:"at"`
	ActorID   string    `json:"actorId"`
	ActorRole string    `json:"actorRole" api:"enum=customer|manager|marketer|admin"`
	Action    string    `json:"action" api:"enum=gesture|redemption|activity"`
	UserID    string    `json:"userId" doc:"For whom"`
	ShopID    string    `json:"shopId,omitempty"`
	ObjectID  string    `json:"objectId" doc:"The gesture, the offer, or the activity's source key"`
	Kind      string    `json:"kind,omitempty" doc:"An activity's kind"`
}

type auditPage struct {
	Items []auditEntryResponse `json:"items"`
	Next  string               `json:"next,omitempty" doc:"The cursor of the next page; absent on the last"`
}

// getAuditTrail handles GET /v1/admin/audit.
func (s *Server) getAuditTrail(c fiber.Ctx) error {
	var p hyperlieu.Problems
	limit, given := queryFloat(c, &p, "limit")
	if err := p.Err(); err != nil {
		return err
	}
	if !given {
		limit = 100
	}
	es, next, err := s.svc.Audit.List(c.Context(), actor(c), strings.Clone(c.Query("after")), int(limit))
	if err != nil {
		return err
	}
	out := auditPage{Items: make([]auditEntryResponse, len(es)), Next: next}
	for i, e := range es {
		out.Items[i] = auditEntryResponse{ID: e.ID, At: e.At, ActorID: e.ActorID, ActorRole: string(e.ActorRole), Action: string(e.Action),
			UserID: e.UserID, ShopID: e.ShopID, ObjectID: e.ObjectID, Kind: e.Kind}
	}
	return c.JSON(out)
}
