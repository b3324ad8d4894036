package config_test

import (
	"io"
	"strings"
	"testing"
	"time"

	"github.com/hyperlieu/hyperlieu/config"
)

func TestFansConfig(t *testing.T) {
	c, err := config.Load(nil, env(map[string]string{
		"HYPERLIEU_TIERS":   "bronze:0, gold:500",
		"HYPERLIEU_JOURNEY": "hello=24h/news",
	}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Fans.Tiers) != 2 || c.Fans.Tiers[1] != (config.Tier{Name: "gold", Min: 500}) {
		t.Errorf("Tiers = %v, want bronze:0, gold:500", c.Fans.Tiers)
	}
	if len(c.Fans.Journey) != 1 || c.Fans.Journey[0] != (config.JourneyStep{Name: "hello", After: 24 * time.Hour, Category: "news"}) {
		t.Errorf("Journey = %v, want hello after 24h in news", c.Fans.Journey)
	}
	if c.Fans.PointsCheckIn != 50 || c.Fans.ReferralCap != 5 || c.Fans.DevotedMin != 3 {
		t.Errorf("fans defaults = %+v", c.Fans)
	}
}

func TestFansConfigErrorsNameTheVariable(t *testing.T) {
	tests := []struct{ name, value string }{
		{"HYPERLIEU_TIERS", "gold:500,member:0"},
		{"HYPERLIEU_TIERS", "member"},
		{"HYPERLIEU_JOURNEY", "x=1h/spam"},
		{"HYPERLIEU_JOURNEY", "b=48h/news,a=24h/news"},
		{"HYPERLIEU_POINTS_CHECKIN", "-1"},
		{"HYPERLIEU_REFERRAL_CAP", "0"},
		{"HYPERLIEU_DORMANT_AFTER", "24h"},
		{"HYPERLIEU_SEGMENT_INTERVAL", "1ms"},
		{"HYPERLIEU_REFERRAL_BASE_URL", "nope"},
	}
	for _, tt := range tests {
		_, err := config.Load(nil, env(map[string]string{tt.name: tt.value}), io.Discard)
		if err == nil || !strings.Contains(err.Error(), tt.name) {
			t.Errorf("Load(%s=%q) = %v, want an error naming it", tt.name, tt.value, err)
		}
	}
}
