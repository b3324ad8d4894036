package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/hyperlieu/hyperlieu"
	"github.com/hyperlieu/hyperlieu/notify"
	"github.com/hyperlieu/hyperlieu/push"
)

// slowStreamer answers every message at once but the slow token's, which
// it holds until release is closed.
type slowStreamer struct {
	slow    string
	release chan struct{}
}

func (s slowStreamer) Send(ctx context.Context, msgs []push.Message) ([]push.Result, error) {
	rs := make([]push.Result, len(msgs))
	err := s.SendEach(ctx, msgs, func(i int, r push.Result) { rs[i] = r })
	return rs, err
}

func (s slowStreamer) SendEach(ctx context.Context, msgs []push.Message, report func(int, push.Result)) error {
	slow := -1
	for i, m := range msgs {
		if m.Token == s.slow {
			slow = i
			continue
		}
		report(i, push.Result{MessageID: fmt.Sprint("projects/p/messages/", i)})
	}
	if slow >= 0 {
		<-s.release
		report(slow, push.Result{MessageID: "projects/p/messages/slow"})
	}
	return nil
}

// TestOutboxRecordsEachOutcomeWhenKnown: while one device of a batch has
// not answered, its batch-mates' outcomes are already recorded (issue 10:
// they used to wait for the whole batch, and be lost with it).
func TestOutboxRecordsEachOutcomeWhenKnown(t *testing.T) {
	db, ctx := newDB(t), context.Background()
	var ob *notify.Outbox
	svc := notify.NewService(db, notify.Options{OnQueued: func(qs []notify.Queued) { ob.Enqueue(qs) }}, quiet)
	var users []hyperlieu.User
	for i := range 3 {
		u := newUser(t, db, fmt.Sprint("U", i), nil)
		if _, err := svc.RegisterDevice(ctx, u.ID, notify.DeviceInput{Token: fmt.Sprint("tok-", i), Platform: "android"}); err != nil {
			t.Fatal(err)
		}
		users = append(users, u)
	}
	sender := slowStreamer{slow: "tok-0", release: make(chan struct{})}
	ob = notify.NewOutbox(db, sender, notify.OutboxOptions{}, quiet)
	for _, u := range users {
		if err := svc.Notify(ctx, hyperlieu.NotificationRequest{UserID: u.ID, Kind: hyperlieu.KindWelcome}); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan error, 1)
	go func() { _, err := ob.RunOnce(ctx); done <- err }()
	fast := []string{hyperlieuDedup(t, db, users[1]), hyperlieuDedup(t, db, users[2])}
	deadline := time.Now().Add(10 * time.Second)
	for _, id := range fast {
		for statusOf(t, db, id).Status != notify.StatusSent && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if n := statusOf(t, db, id); n.Status != notify.StatusSent {
			t.Errorf("a fast device's notification is %s while the slow one is out, want sent", n.Status)
		}
	}
	slow := hyperlieuDedup(t, db, users[0])
	if n := statusOf(t, db, slow); n.Status != notify.StatusSending {
		t.Errorf("the slow device's notification is %s while it is out, want sending", n.Status)
	}
	close(sender.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := statusOf(t, db, slow); n.Status != notify.StatusSent {
		t.Errorf("the slow device's notification is %s once answered, want sent", n.Status)
	}
}

// TestMigrateOutboxAdoptsOlderData: a pending notification and a device
// stored by a version without the queue and the device lists are queued
// and listed once, then sent.
func TestMigrateOutboxAdoptsOlderData(t *testing.T) {
	db, ctx := newDB(t), context.Background()
	u := newUser(t, db, "Old", nil)
	cl, err := mongo.Connect(options.Client().ApplyURI(uri))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Disconnect(ctx)
	raw := cl.Database(db.Name())
	now := time.Now().UTC().Truncate(time.Millisecond)
	if _, err := raw.Collection("notifications").InsertOne(ctx, bson.D{{Key: "_id", Value: "old-1"}, {Key: "userId", Value: u.ID},
		{Key: "kind", Value: string(hyperlieu.KindWelcome)}, {Key: "createdAt", Value: now}, {Key: "notBefore", Value: now},
		{Key: "expiresAt", Value: now.Add(time.Hour)}, {Key: "status", Value: "pending"}, {Key: "title", Value: "Hi"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Collection("devices").InsertOne(ctx, bson.D{{Key: "_id", Value: "old-tok"}, {Key: "userId", Value: u.ID},
		{Key: "platform", Value: "android"}, {Key: "createdAt", Value: now}, {Key: "updatedAt", Value: now}}); err != nil {
		t.Fatal(err)
	}
	if n, err := db.MigrateOutbox(ctx); err != nil || n != 1 {
		t.Fatalf("MigrateOutbox = %d, %v; want 1 queued", n, err)
	}
	if n, err := db.MigrateOutbox(ctx); err != nil || n != 0 {
		t.Fatalf("MigrateOutbox again = %d, %v; want 0 (done once)", n, err)
	}
	if ds, err := db.FindDevices(ctx, u.ID); err != nil || len(ds) != 1 || ds[0].Token != "old-tok" {
		t.Fatalf("devices after migration = %v, %v; want old-tok", ds, err)
	}
	sender := &fakeSender{}
	if _, err := notify.NewOutbox(db, sender, notify.OutboxOptions{}, quiet).RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if n := statusOf(t, db, "old-1"); n.Status != notify.StatusSent || len(sender.messages()) != 1 {
		t.Errorf("older notification = %s after %d sends, want sent once", n.Status, len(sender.messages()))
	}
}
