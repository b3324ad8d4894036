package store

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/hyperlieu/hyperlieu/fan"
)

// The rewards catalogue is small and rarely written, so each instance keeps
// a copy (DB.rewards): listing it reads one document by _id, the
// catalogue's version, which every write raises ($inc) after it is done.
// Another instance's write shows at the next listing; the copy is also
// read again after rewardRefresh, in case two writes on two instances of
// the embedded database raised the version once (its updates are not
// atomic across connections). Rewards are listed (reward_lists, an owner
// list, lists.go) so that reading the catalogue again is by _id too.
var rewardList = ownerList{coll: "reward_lists", prefix: "rw"}

const (
	catalogue     = "catalogue" // the owner of rewardList's one list
	rewardVersion = "version"   // its version's _id in reward_lists
	rewardRefresh = time.Minute
)

type rewardCache struct {
	mu      sync.Mutex
	ok      bool
	version int
	at      time.Time
	rewards []fan.Reward
}

// CreateReward stores a new reward, listed in the catalogue.
func (db *DB) CreateReward(ctx context.Context, r fan.Reward) error {
	if _, err := db.appendTo(ctx, rewardList, []listItem{{Owner: catalogue, Ref: r.ID}}); err != nil {
		return err
	}
	if _, err := db.c("rewards").InsertOne(ctx, rewardDoc(r)); err != nil {
		return translate(err, "reward")
	}
	return db.raiseRewardVersion(ctx)
}

// FindReward returns the reward, or NotFound.
func (db *DB) FindReward(ctx context.Context, id string) (fan.Reward, error) {
	var d rewardDoc
	if err := db.r("rewards").FindOne(ctx, byID(id)).Decode(&d); err != nil {
		return fan.Reward{}, translate(err, "reward")
	}
	return d.reward(), nil
}

// UpdateReward replaces the reward; NotFound if it is gone.
func (db *DB) UpdateReward(ctx context.Context, r fan.Reward) error {
	if err := db.replaceByID(ctx, "rewards", r.ID, rewardDoc(r), "reward"); err != nil {
		return err
	}
	return db.raiseRewardVersion(ctx)
}

func (db *DB) raiseRewardVersion(ctx context.Context) error {
	_, err := db.c(rewardList.coll).UpdateOne(ctx, byID(rewardVersion), bson.D{{Key: "$inc", Value: bson.D{{Key: "n", Value: 1}}}}, options.UpdateOne().SetUpsert(true))
	return translate(err, "rewards")
}

// FindRewards returns the catalogue, cheapest first: one _id read while
// this instance's copy is current; else the catalogue's list and each
// reward by _id.
func (db *DB) FindRewards(ctx context.Context) ([]fan.Reward, error) {
	var v struct {
		N int `bson:"n"`
	}
	if err := db.r(rewardList.coll).FindOne(ctx, byID(rewardVersion)).Decode(&v); err != nil && !errors.Is(err, mongo.ErrNoDocuments) {
		return nil, translate(err, "rewards")
	}
	c := &db.rewards
	c.mu.Lock()
	if c.ok && c.version == v.N && time.Since(c.at) < rewardRefresh {
		out := slices.Clone(c.rewards)
		c.mu.Unlock()
		return out, nil
	}
	c.mu.Unlock()
	ids, err := db.listedRefs(ctx, rewardList, catalogue)
	if err != nil {
		return nil, err
	}
	all, err := findByIDs(ctx, db.r("rewards"), ids, nil, "rewards", rewardDoc.reward)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(all, func(a, b fan.Reward) int { return cmp.Or(cmp.Compare(a.Cost, b.Cost), cmp.Compare(a.ID, b.ID)) })
	c.mu.Lock()
	c.ok, c.version, c.at, c.rewards = true, v.N, time.Now(), all
	c.mu.Unlock()
	return slices.Clone(all), nil
}

// listAllRewards lists, once per database, the rewards stored before the
// catalogue was a list (it reads every reward).
func (db *DB) listAllRewards(ctx context.Context) error {
	return db.once(ctx, "reward-lists-1", func() error {
		all, err := findMany(ctx, db.c("rewards"), bson.D{}, options.Find().SetSort(bson.D{{Key: "createdAt", Value: 1}, {Key: "_id", Value: 1}}),
			"rewards", func(d rewardDoc) string { return d.ID })
		if err != nil {
			return err
		}
		listed, err := db.listedRefs(ctx, rewardList, catalogue)
		if err != nil {
			return err
		}
		var items []listItem
		for _, id := range all {
			if !slices.Contains(listed, id) {
				items = append(items, listItem{Owner: catalogue, Ref: id})
			}
		}
		if len(items) == 0 {
			return nil
		}
		if _, err := db.appendTo(ctx, rewardList, items); err != nil {
			return err
		}
		return db.raiseRewardVersion(ctx)
	})
}
