package store

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/hyperlieu/hyperlieu"
	"github.com/hyperlieu/hyperlieu/shop"
)

// Invitations are keyed by code (invitations), indexed per inviter
// (invitation_owners, keyed by inviter) and counted per event
// (invitation_counts, keyed by event); acceptances are keyed by invitee.
// Every read and write is by _id, and sets ($addToSet) make retries
// harmless.

type invitationDoc struct {
	Code      string    `bson:"_id"`
	EventID   string    `bson:"eventId"`
	InviterID string    `bson:"inviterId"`
	CreatedAt time.Time `bson:"createdAt"`
	Accepted  []string  `bson:"accepted"`
}

func (d invitationDoc) invitation() shop.Invitation {
	acc := d.Accepted
	if acc == nil {
		acc = []string{}
	}
	return shop.Invitation{Code: d.Code, EventID: d.EventID, InviterID: d.InviterID, CreatedAt: d.CreatedAt.UTC(), Accepted: acc}
}

// CreateInvitation stores inv unless its code exists, then indexes it
// under its inviter and counts the inviter in its event.
func (db *DB) CreateInvitation(ctx context.Context, inv shop.Invitation) error {
	_, err := db.c("invitations").InsertOne(ctx, invitationDoc{inv.Code, inv.EventID, inv.InviterID, inv.CreatedAt, []string{}})
	if err := translate(err, "invitation"); err != nil && hyperlieu.KindOf(err) != hyperlieu.Conflict {
		return err
	}
	up := options.UpdateOne().SetUpsert(true)
	if _, err := db.c("invitation_owners").UpdateOne(ctx, byID(inv.InviterID),
		bson.D{{Key: "$addToSet", Value: bson.D{{Key: "codes", Value: inv.Code}}}}, up); err != nil {
		return translate(err, "invitation")
	}
	_, err = db.c("invitation_counts").UpdateOne(ctx, byID(inv.EventID),
		bson.D{{Key: "$addToSet", Value: bson.D{{Key: "inviters", Value: inv.InviterID}}}}, up)
	return translate(err, "invitation counts")
}

// FindInvitation returns the invitation with code, or NotFound.
func (db *DB) FindInvitation(ctx context.Context, code string) (shop.Invitation, error) {
	var d invitationDoc
	if err := db.c("invitations").FindOne(ctx, byID(code)).Decode(&d); err != nil {
		return shop.Invitation{}, translate(err, "invitation")
	}
	return d.invitation(), nil
}

// FindInvitationsBy returns the inviter's invitations, in the order made.
func (db *DB) FindInvitationsBy(ctx context.Context, inviterID string) ([]shop.Invitation, error) {
	var o struct {
		Codes []string `bson:"codes"`
	}
	err := db.c("invitation_owners").FindOne(ctx, byID(inviterID)).Decode(&o)
	if err := translate(err, "invitations"); hyperlieu.KindOf(err) == hyperlieu.NotFound {
		return []shop.Invitation{}, nil
	} else if err != nil {
		return nil, err
	}
	return findByIDs(ctx, db.c("invitations"), o.Codes, nil, "invitation", invitationDoc.invitation)
}

type inviteAcceptanceDoc struct {
	InviteeID string    `bson:"_id"`
	Code      string    `bson:"code"`
	EventID   string    `bson:"eventId"`
	InviterID string    `bson:"inviterId"`
	At        time.Time `bson:"at"`
}

// CreateInviteAcceptance records a (Conflict when the invitee accepted
// another invitation), then adds the invitee to the invitation and to its
// event's count. A retry of the same acceptance finishes the job.
func (db *DB) CreateInviteAcceptance(ctx context.Context, a shop.InviteAcceptance) error {
	_, err := db.c("invite_acceptances").InsertOne(ctx, inviteAcceptanceDoc{a.InviteeID, a.Code, a.EventID, a.InviterID, a.At})
	if err := translate(err, "invitation acceptance"); hyperlieu.KindOf(err) == hyperlieu.Conflict {
		got, ferr := db.FindInviteAcceptance(ctx, a.InviteeID)
		if ferr != nil || got.Code != a.Code {
			return err
		}
	} else if err != nil {
		return err
	}
	if _, err := db.c("invitations").UpdateOne(ctx, byID(a.Code),
		bson.D{{Key: "$addToSet", Value: bson.D{{Key: "accepted", Value: a.InviteeID}}}}); err != nil {
		return translate(err, "invitation")
	}
	_, err = db.c("invitation_counts").UpdateOne(ctx, byID(a.EventID),
		bson.D{{Key: "$addToSet", Value: bson.D{{Key: "invitees", Value: a.InviteeID}}}}, options.UpdateOne().SetUpsert(true))
	return translate(err, "invitation counts")
}

// FindInviteAcceptance returns the invitation the user signed up with, or NotFound.
func (db *DB) FindInviteAcceptance(ctx context.Context, inviteeID string) (shop.InviteAcceptance, error) {
	var d inviteAcceptanceDoc
	if err := db.c("invite_acceptances").FindOne(ctx, byID(inviteeID)).Decode(&d); err != nil {
		return shop.InviteAcceptance{}, translate(err, "invitation acceptance")
	}
	return shop.InviteAcceptance{InviteeID: d.InviteeID, Code: d.Code, EventID: d.EventID, InviterID: d.InviterID, At: d.At.UTC()}, nil
}

type invitationCountsDoc struct {
	Inviters        []string `bson:"inviters"`
	Invitees        []string `bson:"invitees"`
	ErasedInviters  int      `bson:"erasedInviters"`
	ErasedInvitees  int      `bson:"erasedInvitees"`
	ErasedCheckedIn int      `bson:"erasedCheckedIn"`
}

// FindInvitationCounts returns the event's counts; zero when none.
func (db *DB) FindInvitationCounts(ctx context.Context, eventID string) (shop.InvitationCounts, error) {
	var d invitationCountsDoc
	err := translate(db.c("invitation_counts").FindOne(ctx, byID(eventID)).Decode(&d), "invitation counts")
	if err != nil && hyperlieu.KindOf(err) != hyperlieu.NotFound {
		return shop.InvitationCounts{}, err
	}
	return shop.InvitationCounts{Inviters: d.Inviters, Invitees: d.Invitees, ErasedInviters: d.ErasedInviters,
		ErasedInvitees: d.ErasedInvitees, ErasedCheckedIn: d.ErasedCheckedIn}, nil
}

// DeleteInvitee forgets the invitee's acceptance. The count moves from the
// named to the erased in one update of the event's document, conditional
// on the name being there, so that a retry does not count them twice.
func (db *DB) DeleteInvitee(ctx context.Context, a shop.InviteAcceptance, checkedIn bool) error {
	inc := bson.D{{Key: "erasedInvitees", Value: 1}}
	if checkedIn {
		inc = append(inc, bson.E{Key: "erasedCheckedIn", Value: 1})
	}
	if _, err := db.c("invitation_counts").UpdateOne(ctx, bson.D{{Key: "_id", Value: a.EventID}, {Key: "invitees", Value: a.InviteeID}},
		bson.D{{Key: "$pull", Value: bson.D{{Key: "invitees", Value: a.InviteeID}}}, {Key: "$inc", Value: inc}}); err != nil {
		return translate(err, "invitation counts")
	}
	if _, err := db.c("invitations").UpdateOne(ctx, byID(a.Code),
		bson.D{{Key: "$pull", Value: bson.D{{Key: "accepted", Value: a.InviteeID}}}}); err != nil {
		return translate(err, "invitation")
	}
	_, err := db.c("invite_acceptances").DeleteOne(ctx, byID(a.InviteeID))
	return translate(err, "invitation acceptance")
}

// DeleteInvitation deletes an invitation of an erased inviter: their count
// in the event becomes an unnamed one, those who accepted it forget who
// invited them, and the inviter's index goes once it is empty.
func (db *DB) DeleteInvitation(ctx context.Context, inv shop.Invitation) error {
	if _, err := db.c("invitation_counts").UpdateOne(ctx, bson.D{{Key: "_id", Value: inv.EventID}, {Key: "inviters", Value: inv.InviterID}},
		bson.D{{Key: "$pull", Value: bson.D{{Key: "inviters", Value: inv.InviterID}}}, {Key: "$inc", Value: bson.D{{Key: "erasedInviters", Value: 1}}}}); err != nil {
		return translate(err, "invitation counts")
	}
	for _, id := range inv.Accepted {
		if _, err := db.c("invite_acceptances").UpdateOne(ctx, byID(id),
			bson.D{{Key: "$set", Value: bson.D{{Key: "inviterId", Value: ""}}}}); err != nil {
			return translate(err, "invitation acceptance")
		}
	}
	if _, err := db.c("invitations").DeleteOne(ctx, byID(inv.Code)); err != nil {
		return translate(err, "invitation")
	}
	if _, err := db.c("invitation_owners").UpdateOne(ctx, byID(inv.InviterID),
		bson.D{{Key: "$pull", Value: bson.D{{Key: "codes", Value: inv.Code}}}}); err != nil {
		return translate(err, "invitations")
	}
	_, err := db.c("invitation_owners").DeleteOne(ctx, bson.D{{Key: "_id", Value: inv.InviterID}, {Key: "codes", Value: bson.D{{Key: "$size", Value: 0}}}})
	return translate(err, "invitations")
}
