package store

import (
	"context"
	"errors"
	"math"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/hyperlieu/hyperlieu"
	"github.com/hyperlieu/hyperlieu/campaign"
	"github.com/hyperlieu/hyperlieu/geo"
)

// Presence says which customers' stored positions lie in which area, so
// that a reach estimate, an event's announcement and the retention sweep
// read the few customers of an area by _id instead of querying location
// states by cell and time, which decodes every state on the embedded
// database (issue 15). One document per H3 cell of presenceRes (about
// 5 km², 1.2 km a side), _id the cell, maps each customer whose stored
// position is in it to that position's time when it was listed there:
//
//	{_id: "872830828ffffff", u: {<user>: <at>, …}}
//
// It is a superset: a reader reads each listed customer's state and keeps
// those whose stored cell, time and point answer the question, so the
// answers are the ones the query gave. The location engine writes moves
// in batches (campaign.LocationService.FlushPresence), off the report path.
// Every presence document is listed, before its first write, in one owner
// list (lists.go), which the retention sweep reads.
const presenceRes = 7

var presenceCells = ownerList{coll: "presence_cells", prefix: "pc"}

const presenceOwner = "all"

type presenceDoc struct {
	ID string               `bson:"_id"`
	U  map[string]time.Time `bson:"u"`
}

// presenceCell is the presence document of a stored cell; false for none.
func presenceCell(c geo.Cell) (string, bool) {
	if c == 0 || c.Res() < presenceRes {
		return "", false
	}
	p, err := c.Parent(presenceRes)
	if err != nil {
		return "", false
	}
	return p.String(), true
}

// listPresence lists presence document id before its first write, once
// per process (a document that exists was listed then).
func (db *DB) listPresence(ctx context.Context, id string) error {
	if _, done := db.shards.Load("presence:" + id); done {
		return nil
	}
	if err := db.listNew(ctx, presenceCells, "presence", presenceOwner, id); err != nil {
		return err
	}
	db.shards.Store("presence:"+id, true)
	return nil
}

// MovePresence records where customers' stored positions went: each move
// from one cell to another (From zero: a new state; To zero: erased) is an
// $unset and a $set by _id, and a move within one presence document costs
// nothing. Every statement filters on _id alone, in unordered bulk writes.
func (db *DB) MovePresence(ctx context.Context, moves []campaign.PresenceMove) error {
	var models []mongo.WriteModel
	for _, m := range moves {
		from, hasFrom := presenceCell(m.From)
		to, hasTo := presenceCell(m.To)
		if hasFrom && hasTo && from == to {
			continue
		}
		if hasTo {
			if err := db.listPresence(ctx, to); err != nil {
				return err
			}
			models = append(models, setPresence(to, m.UserID, m.At))
		}
		if hasFrom {
			models = append(models, unsetPresence(from, m.UserID))
		}
	}
	return db.bulkByID(ctx, "presence", models)
}

func setPresence(cell, userID string, at time.Time) mongo.WriteModel {
	return mongo.NewUpdateOneModel().SetFilter(byID(cell)).SetUpsert(true).
		SetUpdate(bson.D{{Key: "$set", Value: bson.D{{Key: "u." + userID, Value: at}}}})
}

func unsetPresence(cell, userID string) mongo.WriteModel {
	return mongo.NewUpdateOneModel().SetFilter(byID(cell)).
		SetUpdate(bson.D{{Key: "$unset", Value: bson.D{{Key: "u." + userID, Value: ""}}}})
}

// FindUsersPresentIn returns the customers whose stored position may be
// in one of cells (of geo.Resolution or finer): everyone listed in the
// presence documents over them, one read by _id each. A caller reads their
// states for the exact answer.
func (db *DB) FindUsersPresentIn(ctx context.Context, cells []geo.Cell) ([]string, error) {
	var ids []string
	seen := map[string]bool{}
	for _, c := range cells {
		if id, ok := presenceCell(c); ok && !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	docs, err := findByIDs(ctx, db.r("presence"), ids, nil, "presence", func(d presenceDoc) presenceDoc { return d })
	if err != nil {
		return nil, err
	}
	users := []string{}
	for _, d := range docs {
		for u := range d.U {
			users = append(users, u)
		}
	}
	return users, nil
}

// DeleteLocationStatesBefore erases the whereabouts of customers not seen
// since before, so that positions are not kept beyond the retention. It
// reads the presence documents by _id (their list, then each), and only
// the states of the customers listed there before before: a state seen
// since is relisted at its time, so that it is read again only once it may
// have expired; a customer listed in the wrong document (a move lost with
// a crash) is moved where their state is. It returns how many it erased.
func (db *DB) DeleteLocationStatesBefore(ctx context.Context, before time.Time) (int64, error) {
	cells, err := db.listPage(ctx, presenceCells, presenceOwner, 0, math.MaxInt)
	if err != nil {
		return 0, err
	}
	var n int64
	for _, e := range cells {
		k, err := db.sweepPresence(ctx, e.Ref, before)
		n += k
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// sweepPresence is DeleteLocationStatesBefore for one presence document.
func (db *DB) sweepPresence(ctx context.Context, cell string, before time.Time) (int64, error) {
	var d presenceDoc
	err := db.r("presence").FindOne(ctx, byID(cell)).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return 0, nil
	}
	if err != nil {
		return 0, translate(err, "presence")
	}
	var models []mongo.WriteModel
	var expired []string
	for user, at := range d.U {
		if !at.Before(before) {
			continue
		}
		st, err := db.FindLocationState(ctx, user)
		switch {
		case err != nil && !isNotFound(err):
			return 0, err
		case err != nil: // erased meanwhile
			models = append(models, unsetPresence(cell, user))
		case st.At.Before(before):
			expired = append(expired, user)
			models = append(models, unsetPresence(cell, user))
		default:
			where, ok := presenceCell(st.Cell)
			if !ok {
				continue
			}
			if where != cell {
				if err := db.listPresence(ctx, where); err != nil {
					return 0, err
				}
				models = append(models, unsetPresence(cell, user))
			}
			models = append(models, setPresence(where, user, st.At))
		}
	}
	if err := db.deleteByIDs(ctx, "location_states", expired); err != nil {
		return 0, err
	}
	return int64(len(expired)), db.bulkByID(ctx, "presence", models)
}

// MigratePresence lists, once per database, the location states stored
// before presence was kept; it reads every state (under db.once only).
func (db *DB) MigratePresence(ctx context.Context) (int, error) {
	n := 0
	err := db.once(ctx, "presence-1", func() error {
		states, err := findMany(ctx, db.c("location_states"), bson.D{},
			options.Find().SetProjection(bson.D{{Key: "cell", Value: 1}, {Key: "at", Value: 1}}),
			"location states", locationStateDoc.state)
		if err != nil {
			return err
		}
		moves := make([]campaign.PresenceMove, len(states))
		for i, st := range states {
			moves[i] = campaign.PresenceMove{UserID: st.UserID, To: st.Cell, At: st.At}
		}
		n = len(moves)
		return db.MovePresence(ctx, moves)
	})
	return n, err
}

// erasePresence takes a customer out of the presence document of their
// stored state, if any (erasure).
func (db *DB) erasePresence(ctx context.Context, userID string) error {
	st, err := db.FindLocationState(ctx, userID)
	if isNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	return db.MovePresence(ctx, []campaign.PresenceMove{{UserID: userID, From: st.Cell}})
}

func isNotFound(err error) bool { return hyperlieu.KindOf(err) == hyperlieu.NotFound }
