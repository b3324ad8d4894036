package webhook_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hyperlieu/hyperlieu"
	"github.com/hyperlieu/hyperlieu/webhook"
)

type fakePub struct{ got []webhook.Keyed }

func (p *fakePub) Publish(_ context.Context, es ...webhook.Keyed) error {
	p.got = append(p.got, es...)
	return nil
}

type fakeNotifier struct{ n int }

func (f *fakeNotifier) Notify(_ context.Context, reqs ...hyperlieu.NotificationRequest) error {
	f.n += len(reqs)
	return nil
}
func (f *fakeNotifier) ReserveContact(context.Context, hyperlieu.User, time.Time) (bool, error) {
	return true, nil
}

type fakeRecorder struct{ n int }

func (f *fakeRecorder) RecordActivity(context.Context, hyperlieu.Activity) error { f.n++; return nil }

func TestNotifierPublishesThenDelegates(t *testing.T) {
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	pub, next := &fakePub{}, &fakeNotifier{}
	n := webhook.Notifier{Next: next, Pub: pub, Now: func() time.Time { return at }}
	err := n.Notify(context.Background(),
		hyperlieu.NotificationRequest{UserID: "u1", Kind: hyperlieu.KindOffer, DedupKey: "trig1",
			Vars: map[string]string{"code": "SECRET"}, Data: map[string]string{"offerId": "o1", "campaignId": "c1"}},
		// one low rating told to two managers: one event, for the customer
		hyperlieu.NotificationRequest{UserID: "m1", Kind: hyperlieu.KindLowRating, Data: map[string]string{"eventId": "e1", "userId": "u2"}},
		hyperlieu.NotificationRequest{UserID: "m2", Kind: hyperlieu.KindLowRating, Data: map[string]string{"eventId": "e1", "userId": "u2"}},
		hyperlieu.NotificationRequest{UserID: "u3", Kind: hyperlieu.KindWelcome},
	)
	if err != nil {
		t.Fatal(err)
	}
	if next.n != 4 {
		t.Errorf("delegated %d requests, want 4", next.n)
	}
	want := []webhook.Keyed{
		{Key: "offer.triggered:trig1", Event: webhook.Event{Type: webhook.OfferTriggered, At: at, Data: map[string]string{"userId": "u1", "offerId": "o1", "campaignId": "c1"}}},
		{Key: "rating.low::e1::u2", Event: webhook.Event{Type: webhook.RatingLow, At: at, Data: map[string]string{"userId": "u2", "eventId": "e1"}}},
	}
	if diff := cmp.Diff(want, pub.got); diff != "" {
		t.Errorf("published (-want +got):\n%s", diff)
	}
}

func TestActivityEvents(t *testing.T) {
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		a    hyperlieu.Activity
		want *webhook.Keyed
	}{
		{hyperlieu.Activity{UserID: "u", Kind: hyperlieu.ActivityCheckIn, SourceKey: "checkin:e1:u", ShopID: "s", At: at},
			&webhook.Keyed{Key: "checkin:checkin:e1:u", Event: webhook.Event{Type: webhook.CheckIn, At: at, Data: map[string]string{"userId": "u", "shopId": "s", "eventId": "e1"}}}},
		{hyperlieu.Activity{UserID: "u", Kind: hyperlieu.ActivityRedemption, SourceKey: "redemption:o1", ShopID: "s", At: at},
			&webhook.Keyed{Key: "offer.redeemed:redemption:o1", Event: webhook.Event{Type: webhook.OfferRedeemed, At: at, Data: map[string]string{"userId": "u", "shopId": "s", "offerId": "o1"}}}},
		{hyperlieu.Activity{UserID: "u", Kind: hyperlieu.ActivityFeedback, SourceKey: "feedback:x", At: at}, nil},
	}
	for _, tt := range tests {
		pub, next := &fakePub{}, &fakeRecorder{}
		if err := (webhook.Activity{Next: next, Pub: pub}).RecordActivity(context.Background(), tt.a); err != nil {
			t.Fatal(err)
		}
		var want []webhook.Keyed
		if tt.want != nil {
			want = []webhook.Keyed{*tt.want}
		}
		if diff := cmp.Diff(want, pub.got); diff != "" || next.n != 1 {
			t.Errorf("RecordActivity(%s): delegated %d, published (-want +got):\n%s", tt.a.Kind, next.n, diff)
		}
	}
}
