package store

import (
	"context"
	"errors"
	"strings"

	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/hyperlieu/hyperlieu"
	"github.com/hyperlieu/hyperlieu/shop"
)

// Nearby search keeps shops and events in memory on every instance and
// picks up other instances' writes by polling. A query on updatedAt is
// indexed on MongoDB but decodes every shop and every event ever stored on
// the embedded database, every poll (2 s). So every write of a shop or an
// event is also appended to one numbered change log, an owner list
// (lists.go) of one owner, and a poll reads the entries after the last
// one it saw, by _id: two reads when nothing changed. The entry is
// appended after the write it names, so a reader that sees it reads the
// write; a crash between the two leaves the change to the full reload
// that Places makes every few minutes.
var placesList = ownerList{coll: "place_changes", prefix: "p"}

const placesOwner = "all"

// logPlace appends ref ("shop:<id>" or "event:<id>") to the change log.
// A failure is not the write's: the write is stored, and the full reload
// finds it.
func (db *DB) logPlace(ctx context.Context, ref string) {
	_, _ = db.appendTo(context.WithoutCancel(ctx), placesList, []listItem{{Owner: placesOwner, Ref: ref}})
}

// PlaceChangeTop returns the number of the last shop or event change.
func (db *DB) PlaceChangeTop(ctx context.Context) (int, error) {
	return db.listTop(ctx, placesList, placesOwner)
}

// FindPlacesChangedAfter returns the shops and events written after change
// number after, each once, and the number of the last change read.
func (db *DB) FindPlacesChangedAfter(ctx context.Context, after int) ([]shop.Shop, []shop.Event, int, error) {
	top, err := db.listTop(ctx, placesList, placesOwner)
	if err != nil || top <= after {
		return nil, nil, max(top, after), err
	}
	refs := map[string]bool{} // a place written twice is read once
	for n := after + 1; n <= top; n++ {
		var e listEntry
		err := db.r(placesList.coll).FindOne(ctx, byID(placesList.entry(placesOwner, n))).Decode(&e)
		if err != nil && !errors.Is(err, mongo.ErrNoDocuments) {
			return nil, nil, after, translate(err, placesList.coll)
		}
		refs[e.Ref] = e.Ref != ""
	}
	var shops []shop.Shop
	var events []shop.Event
	for ref, ok := range refs {
		if !ok {
			continue
		}
		kind, id, _ := strings.Cut(ref, ":")
		switch kind {
		case "shop":
			s, err := db.FindShop(ctx, id)
			if err == nil {
				shops = append(shops, s)
			} else if hyperlieu.KindOf(err) != hyperlieu.NotFound {
				return nil, nil, after, err
			}
		case "event":
			ev, err := db.FindEvent(ctx, id)
			if err == nil {
				events = append(events, ev)
			} else if hyperlieu.KindOf(err) != hyperlieu.NotFound {
				return nil, nil, after, err
			}
		}
	}
	return shops, events, top, nil
}
