// Package demo loads a small, realistic data set for trying Hyperlieu out:
// accounts of every role and, as the product grows, shops, events and
// campaigns around Paris. Loading twice changes nothing.
package demo

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/hyperlieu/hyperlieu"
)

// Password is the password of every demo account. Demo data is for local
// trials only: never load it into a production database.
const Password = "hyperlieu-demo"

// Services are the use cases the demo data is created through, so that it
// obeys the same rules as data created over the API.
type Services struct {
	Accounts *hyperlieu.AccountService
	// fans
	Fans *hyperlieu.FanService
	// AccountsAt returns account use cases whose clock says at, so that demo
	// customers can have signed up long ago.
	AccountsAt func(at time.Time) *hyperlieu.AccountService
}

// Account is one demo login.
type Account struct {
	Email, Name string
	Roles       []hyperlieu.Role
}

// Accounts are the demo logins, one per role and a few customers.
var Accounts = []Account{
	{"admin@demo.hyperlieu.test", "Alice Admin", []hyperlieu.Role{hyperlieu.RoleAdmin}},
	{"marketer@demo.hyperlieu.test", "Marc Marketer", []hyperlieu.Role{hyperlieu.RoleMarketer}},
	{"manager@demo.hyperlieu.test", "Manon Manager", []hyperlieu.Role{hyperlieu.RoleManager}},
	{"camille@demo.hyperlieu.test", "Camille", nil},
	{"lucas@demo.hyperlieu.test", "Lucas", nil},
}

// Load creates the demo data and writes the credentials to out.
func Load(ctx context.Context, svc Services, out io.Writer) error {
	users := map[string]hyperlieu.User{}
	for _, a := range Accounts {
		u, err := svc.Accounts.EnsureUser(ctx, a.Email, Password, a.Name, a.Roles...)
		if err != nil {
			return fmt.Errorf("demo account %s: %w", a.Email, err)
		}
		users[a.Email] = u
	}
	if err := loadFans(ctx, svc, users, out); err != nil {
		return err
	}
	fmt.Fprintln(out, "Demo accounts (password for all: "+Password+"):")
	for _, a := range Accounts {
		role := "customer"
		if len(a.Roles) > 0 {
			role = string(a.Roles[0])
		}
		fmt.Fprintf(out, "  %-9s %s\n", role, a.Email)
	}
	return nil
}
