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
	"github.com/hyperlieu/hyperlieu/account"
	"github.com/hyperlieu/hyperlieu/campaign"
	"github.com/hyperlieu/hyperlieu/fan"
	"github.com/hyperlieu/hyperlieu/geo"
	"github.com/hyperlieu/hyperlieu/shop"
)

// Password is the password of every demo account. Demo data is for local
// trials only: never load it into a production database.
const Password = "hyperlieu-demo"

// Services are the use cases the demo data is created through, so that it
// obeys the same rules as data created over the API.
type Services struct {
	Accounts *account.Service
	Shops    *shop.Service
	Events   *shop.EventService
	// fans
	Fans *fan.Service
	// AccountsAt returns account use cases whose clock says at, so that demo
	// customers can have signed up long ago.
	AccountsAt func(at time.Time) *account.Service
	// Campaigns: nil, no demo campaigns.
	Campaigns *campaign.Service
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
	if err := loadShops(ctx, svc, users, out); err != nil {
		return err
	}
	if err := loadFans(ctx, svc, users, out); err != nil {
		return err
	}
	if err := loadCampaigns(ctx, svc, users); err != nil {
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

// demoShop is a demo shop and whether the demo manager runs it.
type demoShop struct {
	Name, Address string
	At            geo.Point
	Managed       bool
}

var demoShops = []demoShop{
	{"Hyperlieu Marais", "12 rue des Francs-Bourgeois, 75003 Paris", geo.Point{Lat: 48.8577, Lng: 2.3601}, true},
	{"Hyperlieu Saint-Germain", "45 boulevard Saint-Germain, 75005 Paris", geo.Point{Lat: 48.8512, Lng: 2.3470}, true},
	{"Hyperlieu Batignolles", "20 rue des Batignolles, 75017 Paris", geo.Point{Lat: 48.8842, Lng: 2.3205}, false},
}

// loadShops creates the demo shops and their events once: if the first
// shop already has events, the shops were loaded before.
func loadShops(ctx context.Context, svc Services, users map[string]hyperlieu.User, out io.Writer) error {
	admin := hyperlieu.Actor{UserID: users["admin@demo.hyperlieu.test"].ID, Roles: []hyperlieu.Role{hyperlieu.RoleAdmin}}
	radius := 50.0
	if found, err := svc.Events.Events(ctx, shop.EventFilter{Category: "launch"}, &demoShops[0].At, &radius); err == nil && len(found) > 0 {
		return nil // loaded before
	}
	manager := users["manager@demo.hyperlieu.test"]
	day := time.Now().Truncate(24 * time.Hour).Add(7 * 24 * time.Hour)
	str := func(s string) *string { return &s }
	num := func(n int) *int { return &n }
	at := func(d, h int) *time.Time {
		t := day.Add(time.Duration(d)*24*time.Hour + time.Duration(h)*time.Hour)
		return &t
	}
	for i, d := range demoShops {
		loc := d.At
		sh, err := svc.Shops.CreateShop(ctx, admin, shop.Input{Name: d.Name, Address: d.Address, Location: &loc,
			Timezone: "Europe/Paris", OpeningHours: "Mon-Sat 10:00-19:00"})
		if err != nil {
			return fmt.Errorf("demo shop %s: %w", d.Name, err)
		}
		if d.Managed {
			if _, err := svc.Shops.AddManager(ctx, admin, sh.ID, manager.ID); err != nil {
				return fmt.Errorf("demo shop manager: %w", err)
			}
		}
		events := []shop.EventInput{
			{Title: str("Spring collection launch"), Category: str("launch"), Description: str("Be the first to try it on."),
				StartsAt: at(i, 16), EndsAt: at(i, 18), Capacity: num(3)},
			{Title: str("Repair workshop"), Category: str("workshop"), Description: str("Bring a garment, leave with it mended."),
				StartsAt: at(i+2, 15), EndsAt: at(i+2, 17), Capacity: num(12)},
			{Title: str("After-sales barcamp"), Category: str("barcamp"), Description: str("Tell us what to do better."),
				StartsAt: at(i+4, 17), EndsAt: at(i+4, 19), Capacity: num(20)},
		}
		for j, in := range events {
			e, err := svc.Events.CreateEvent(ctx, admin, sh.ID, in)
			if err != nil {
				return fmt.Errorf("demo event %s: %w", *in.Title, err)
			}
			switch j {
			case 0: // nearly full: two of three seats taken
				for _, email := range []string{"camille@demo.hyperlieu.test", "lucas@demo.hyperlieu.test"} {
					if _, err := svc.Events.RSVP(ctx, users[email].ID, e.ID); err != nil {
						return fmt.Errorf("demo rsvp: %w", err)
					}
				}
			case 2:
				if i == 0 {
					if _, err := svc.Events.CancelEvent(ctx, admin, e.ID, "The shop is being refitted"); err != nil {
						return fmt.Errorf("demo cancel: %w", err)
					}
				}
			}
		}
	}
	fmt.Fprintf(out, "Demo shops: %d around Paris with events (the demo manager runs the first two).\n", len(demoShops))
	return nil
}

// loadCampaigns starts two campaigns around the first demo shops, once: if
// any campaign exists, they were loaded before.
func loadCampaigns(ctx context.Context, svc Services, users map[string]hyperlieu.User) error {
	if cs, err := svc.Campaigns.Campaigns(ctx, ""); err != nil || len(cs) > 0 {
		return err
	}
	marketer := hyperlieu.Actor{UserID: users["marketer@demo.hyperlieu.test"].ID, Roles: []hyperlieu.Role{hyperlieu.RoleMarketer}}
	m, sg := demoShops[0].At, demoShops[1].At
	d := 0.0015 // degrees: a block of about 300 m around the shop
	square := geo.Polygon{{{Lat: m.Lat - d, Lng: m.Lng - d}, {Lat: m.Lat - d, Lng: m.Lng + d}, {Lat: m.Lat + d, Lng: m.Lng + d},
		{Lat: m.Lat + d, Lng: m.Lng - d}, {Lat: m.Lat - d, Lng: m.Lng - d}}}
	name1, name2 := "Coffee in the Marais", "Linger on Saint-Germain"
	demo := []campaign.Input{
		{Name: &name1, Geofence: &campaign.Geofence{Type: "Polygon", Polygons: []geo.Polygon{square}},
			Trigger: &campaign.Trigger{Kind: campaign.TriggerEnter}, Audience: &campaign.Audience{Newcomers: true},
			Offer: &campaign.OfferTemplate{Value: "1 coffee", Validity: 24 * time.Hour, Budget: 500, Texts: []campaign.OfferText{
				{Locale: "en", Formality: hyperlieu.Formal, Title: "A coffee on us", Body: "Show this code at Hyperlieu Marais."},
				{Locale: "fr", Formality: hyperlieu.Formal, Title: "Un café offert", Body: "Présentez ce code chez Hyperlieu Marais."},
				{Locale: "fr", Formality: hyperlieu.Familiar, Title: "Un café pour toi", Body: "Montre ce code chez Hyperlieu Marais."},
			}},
			Caps: &campaign.Caps{PerCustomer: 1}},
		{Name: &name2, Geofence: &campaign.Geofence{Type: "circles", Circles: []geo.Circle{{Center: sg, RadiusM: 150}}},
			Trigger: &campaign.Trigger{Kind: campaign.TriggerDwell, DwellSeconds: 300},
			Offer: &campaign.OfferTemplate{Value: "-15%", Validity: 72 * time.Hour, Texts: []campaign.OfferText{
				{Locale: "en", Formality: hyperlieu.Formal, Title: "15% off today", Body: "Since you are nearby."},
				{Locale: "fr", Formality: hyperlieu.Formal, Title: "-15 % aujourd'hui", Body: "Puisque vous êtes dans le quartier."},
			}},
			Caps: &campaign.Caps{PerCustomer: 3, Cooldown: 7 * 24 * time.Hour}},
	}
	for _, in := range demo {
		c, err := svc.Campaigns.CreateCampaign(ctx, marketer, in)
		if err != nil {
			return fmt.Errorf("demo campaign %s: %w", *in.Name, err)
		}
		if _, err := svc.Campaigns.Transition(ctx, marketer, c.ID, "activate"); err != nil {
			return fmt.Errorf("demo campaign %s: %w", *in.Name, err)
		}
	}
	return nil
}
