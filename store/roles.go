package store

import (
	"context"
	"errors"
	"slices"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/hyperlieu/hyperlieu"
)

// Staff are listed per role (an owner list, lists.go, owned by the role's
// name), so that finding a shop's managers or the staff to leave out of the
// segment counts reads those few lists and users by _id, not every user
// (issue 15). A user is listed when a write first gives them the role
// (listRoles, called by CreateUser and UpdateUser before the write) and
// never unlisted: readers check each listed user's current roles, so a
// role taken away, on any instance, counts at once. "m:<role>:<user>"
// marks that a user is listed, so that a write checks one _id, not the
// list.
var roleList = ownerList{coll: "role_lists", prefix: "role"}

func roleMark(r hyperlieu.Role, userID string) string { return "m:" + string(r) + ":" + userID }

// listRoles lists u under each staff role it holds that it was not listed
// under: one _id read per staff role held, and for a new one its entry,
// head and mark. Customers hold no staff role: nothing to do.
func (db *DB) listRoles(ctx context.Context, u hyperlieu.User) error {
	for _, r := range u.Roles {
		if r == hyperlieu.RoleCustomer {
			continue
		}
		err := db.r(roleList.coll).FindOne(ctx, byID(roleMark(r, u.ID))).Err()
		if err == nil {
			continue
		}
		if !errors.Is(err, mongo.ErrNoDocuments) {
			return translate(err, "role list")
		}
		// Listed before marked: a crash in between lists them again, which
		// readers see as one.
		if _, err := db.appendTo(ctx, roleList, []listItem{{Owner: string(r), Ref: u.ID}}); err != nil {
			return err
		}
		_, err = db.c(roleList.coll).InsertOne(ctx, bson.D{{Key: "_id", Value: roleMark(r, u.ID)}, {Key: "userId", Value: u.ID}})
		if err = translate(err, "role list"); err != nil && hyperlieu.KindOf(err) != hyperlieu.Conflict {
			return err
		}
	}
	return nil
}

// FindUserIDsWithRole lists the IDs of the users holding any of roles: the
// roles' lists, then each listed user by _id (staff are few).
func (db *DB) FindUserIDsWithRole(ctx context.Context, roles ...hyperlieu.Role) ([]string, error) {
	var ids []string
	for _, r := range roles {
		refs, err := db.listedRefs(ctx, roleList, string(r))
		if err != nil {
			return nil, err
		}
		ids = append(ids, refs...)
	}
	users, err := findByIDs(ctx, db.r("users"), ids, nil, "users", userDoc.user)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(users))
	for _, u := range users {
		if slices.ContainsFunc(roles, func(r hyperlieu.Role) bool { return slices.Contains(u.Roles, r) }) {
			out = append(out, u.ID)
		}
	}
	return out, nil
}

// unlistRoles takes an erased user out of every staff role's list and
// mark, by _id.
func (db *DB) unlistRoles(ctx context.Context, userID string) error {
	var marks []string
	for _, r := range hyperlieu.Roles {
		if r == hyperlieu.RoleCustomer {
			continue
		}
		if err := db.voidRef(ctx, roleList, string(r), userID); err != nil {
			return err
		}
		marks = append(marks, roleMark(r, userID))
	}
	return db.deleteByIDs(ctx, roleList.coll, marks)
}

// listAllStaff lists, once per database, the staff stored before roles
// were listed (it reads every user holding a staff role).
func (db *DB) listAllStaff(ctx context.Context) error {
	return db.once(ctx, "role-lists-1", func() error {
		var staff bson.A
		for _, r := range hyperlieu.Roles {
			if r != hyperlieu.RoleCustomer {
				staff = append(staff, string(r))
			}
		}
		users, err := findMany(ctx, db.c("users"), bson.D{{Key: "roles", Value: bson.D{{Key: "$in", Value: staff}}}}, nil, "users", userDoc.user)
		if err != nil {
			return err
		}
		for _, u := range users {
			if err := db.listRoles(ctx, u); err != nil {
				return err
			}
		}
		return nil
	})
}
