package shop

import (
	"context"
	"errors"
	"fmt"

	"github.com/hyperlieu/hyperlieu"
)

// ImportRow is one shop of an import file: a new shop, or, when ID is set,
// the new state of that shop (without a location it keeps its own). Index is where the row is in the file, for
// the report.
type ImportRow struct {
	Index int
	ID    string
	Input
}

// ImportProblem says why one row was not saved.
type ImportProblem struct {
	Index         int
	Field, Detail string
}

// ImportResult counts what an import did; rows with problems were skipped.
type ImportResult struct {
	Created, Updated int
	Problems         []ImportProblem
}

// MaxImportRows bounds one import.
const MaxImportRows = 5_000

// ImportShops creates and updates shops from rows with the same rules as
// CreateShop and UpdateShop, row by row: a row with problems is skipped and
// reported, the others are saved. Admins only (Forbidden); Invalid when
// there are more than MaxImportRows rows.
func (s *Service) ImportShops(ctx context.Context, a hyperlieu.Actor, rows []ImportRow) (ImportResult, error) {
	if !a.Is(hyperlieu.RoleAdmin) {
		return ImportResult{}, hyperlieu.Errorf(hyperlieu.Forbidden, "only admins import shops")
	}
	if len(rows) > MaxImportRows {
		return ImportResult{}, &hyperlieu.Error{Kind: hyperlieu.Invalid, Message: "too many shops",
			Fields: []hyperlieu.FieldError{{Field: "body", Detail: fmt.Sprintf("must hold at most %d shops", MaxImportRows)}}}
	}
	var res ImportResult
	for _, r := range rows {
		var err error
		if r.ID == "" {
			_, err = s.CreateShop(ctx, a, r.Input)
		} else {
			in := r.Input
			_, err = s.UpdateShop(ctx, a, r.ID, Patch{Name: &in.Name, Address: &in.Address, Location: in.Location,
				Timezone: &in.Timezone, OpeningHours: &in.OpeningHours})
		}
		var he *hyperlieu.Error
		switch {
		case err == nil && r.ID == "":
			res.Created++
		case err == nil:
			res.Updated++
		case errors.As(err, &he) && he.Kind == hyperlieu.Invalid:
			for _, f := range he.Fields {
				res.Problems = append(res.Problems, ImportProblem{Index: r.Index, Field: f.Field, Detail: f.Detail})
			}
		case errors.As(err, &he) && (he.Kind == hyperlieu.NotFound || he.Kind == hyperlieu.Conflict):
			res.Problems = append(res.Problems, ImportProblem{Index: r.Index, Field: "id", Detail: he.Message})
		default:
			return res, fmt.Errorf("import shops: row %d: %w", r.Index, err)
		}
	}
	return res, nil
}
