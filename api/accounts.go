package api

import (
	"bytes"
	"encoding/json"
	"time"

	"github.com/gofiber/fiber/v3"

	"github.com/hyperlieu/hyperlieu"
	"github.com/hyperlieu/hyperlieu/account"
)

type registerRequest struct {
	Email        string `json:"email" api:"required,format=email"`
	Password     string `json:"password" api:"required,minLength=10,maxLength=256"`
	DisplayName  string `json:"displayName" api:"required"`
	Locale       string `json:"locale,omitempty" api:"enum=en|fr"`
	Timezone     string `json:"timezone,omitempty" doc:"IANA time zone, such as Europe/Paris"`
	ReferralCode string `json:"referralCode,omitempty"`
	InviteCode   string `json:"inviteCode,omitempty" api:"maxLength=64" doc:"The code of an event invitation's share link (not with referralCode)"`
}

type loginRequest struct {
	Email    string `json:"email" api:"required"`
	Password string `json:"password" api:"required"`
}

type refreshRequest struct {
	RefreshToken string `json:"refreshToken" api:"required"`
}

type rolesRequest struct {
	Roles []string `json:"roles" api:"required,enum=customer|manager|marketer|admin"`
}

type quietHours struct {
	From string `json:"from" api:"required" doc:"HH:MM in the user's time zone"`
	To   string `json:"to" api:"required" doc:"HH:MM in the user's time zone"`
}

type preferences struct {
	Locale                 string      `json:"locale" api:"enum=en|fr"`
	Timezone               string      `json:"timezone"`
	Formality              string      `json:"formality" api:"enum=formal|familiar"`
	QuietHours             *quietHours `json:"quietHours"`
	MaxNotificationsPerDay int         `json:"maxNotificationsPerDay"`
	Categories             []string    `json:"categories" api:"enum=offers|events|loyalty|news"`
	LocationConsent        bool        `json:"locationConsent"`
	ShowInAttendeeLists    bool        `json:"showInAttendeeLists"`
}

type userResponse struct {
	ID          string    `json:"id"`
	Email       string    `json:"email"`
	DisplayName string    `json:"displayName"`
	Roles       []string  `json:"roles" api:"enum=customer|manager|marketer|admin"`
	CreatedAt   time.Time `json:"createdAt"`
	preferences
}

func newUserResponse(u hyperlieu.User) userResponse {
	roles := make([]string, len(u.Roles))
	for i, r := range u.Roles {
		roles[i] = string(r)
	}
	p := u.Prefs
	r := userResponse{
		ID: u.ID, Email: u.Email, DisplayName: u.DisplayName, Roles: roles, CreatedAt: u.CreatedAt,
		preferences: preferences{
			Locale: p.Locale, Timezone: p.Timezone, Formality: string(p.Formality),
			MaxNotificationsPerDay: p.MaxNotificationsPerDay, Categories: p.Categories,
			LocationConsent: p.LocationConsent, ShowInAttendeeLists: p.ShowInAttendeeLists,
		},
	}
	if r.Categories == nil {
		r.Categories = []string{}
	}
	if p.QuietHours != nil {
		r.QuietHours = &quietHours{From: p.QuietHours.From, To: p.QuietHours.To}
	}
	return r
}

type authResponse struct {
	User         userResponse `json:"user"`
	AccessToken  string       `json:"accessToken"`
	RefreshToken string       `json:"refreshToken"`
	TokenType    string       `json:"tokenType"`
	ExpiresIn    int          `json:"expiresIn" doc:"Seconds until the access token expires"`
}

func newAuthResponse(a account.Auth) authResponse {
	return authResponse{
		User: newUserResponse(a.User), AccessToken: a.AccessToken, RefreshToken: a.RefreshToken,
		TokenType: "Bearer", ExpiresIn: int(time.Until(a.ExpiresAt).Round(time.Second).Seconds()),
	}
}

// postRegister handles POST /v1/auth/register.
func (s *Server) postRegister(c fiber.Ctx) error {
	var in registerRequest
	if err := decode(c, &in); err != nil {
		return err
	}
	if in.InviteCode != "" && in.ReferralCode != "" {
		return hyperlieu.InvalidField("inviteCode", "cannot be given with referralCode: a newcomer has one referrer")
	}
	if in.InviteCode != "" && s.svc.Invitations != nil { // refuse a bad code before the account exists
		if err := s.svc.Invitations.CheckInviteCode(c.Context(), in.InviteCode); err != nil {
			return err
		}
	}
	if in.ReferralCode != "" && s.svc.Fans != nil { // refuse a bad code before the account exists
		if err := s.svc.Fans.CheckReferralCode(c.Context(), in.ReferralCode); err != nil {
			return err
		}
	}
	a, err := s.svc.Accounts.Register(c.Context(), hyperlieu.Registration{
		Email: in.Email, Password: in.Password, DisplayName: in.DisplayName, Locale: in.Locale,
		Timezone: in.Timezone, ReferralCode: in.ReferralCode, InviteCode: in.InviteCode, ClientAddr: c.IP(),
	})
	if err != nil {
		return err
	}
	c.Location("/v1/me")
	return c.Status(fiber.StatusCreated).JSON(newAuthResponse(a))
}

// postLogin handles POST /v1/auth/login.
func (s *Server) postLogin(c fiber.Ctx) error {
	var in loginRequest
	if err := decode(c, &in); err != nil {
		return err
	}
	a, err := s.svc.Accounts.Login(c.Context(), in.Email, in.Password, c.IP())
	if err != nil {
		return err
	}
	return c.JSON(newAuthResponse(a))
}

// postRefresh handles POST /v1/auth/refresh.
func (s *Server) postRefresh(c fiber.Ctx) error {
	var in refreshRequest
	if err := decode(c, &in); err != nil {
		return err
	}
	a, err := s.svc.Accounts.Refresh(c.Context(), in.RefreshToken, c.IP())
	if err != nil {
		return err
	}
	return c.JSON(newAuthResponse(a))
}

// postLogout handles POST /v1/auth/logout.
func (s *Server) postLogout(c fiber.Ctx) error {
	var in refreshRequest
	if err := decode(c, &in); err != nil {
		return err
	}
	if err := s.svc.Accounts.Logout(c.Context(), in.RefreshToken); err != nil {
		return err
	}
	return noContent(c)
}

// getMe handles GET /v1/me.
func (s *Server) getMe(c fiber.Ctx) error {
	u, err := s.svc.Accounts.Me(c.Context(), userID(c))
	if err != nil {
		return err
	}
	return c.JSON(newUserResponse(u))
}

// mePatchRequest is a partial update: absent fields stay as they are, and
// quietHours: null removes the quiet hours.
type mePatchRequest struct {
	DisplayName            *string         `json:"displayName,omitempty"`
	Locale                 *string         `json:"locale,omitempty" api:"enum=en|fr"`
	Timezone               *string         `json:"timezone,omitempty"`
	Formality              *string         `json:"formality,omitempty" api:"enum=formal|familiar"`
	QuietHours             json.RawMessage `json:"quietHours,omitempty" openapi:"quietHours" doc:"null removes the quiet hours"`
	MaxNotificationsPerDay *int            `json:"maxNotificationsPerDay,omitempty" api:"min=0,max=50"`
	Categories             *[]string       `json:"categories,omitempty" api:"enum=offers|events|loyalty|news"`
	LocationConsent        *bool           `json:"locationConsent,omitempty"`
	ShowInAttendeeLists    *bool           `json:"showInAttendeeLists,omitempty"`
}

func (r mePatchRequest) patch() (hyperlieu.PreferencesPatch, error) {
	p := hyperlieu.PreferencesPatch{
		DisplayName: r.DisplayName, Locale: r.Locale, Timezone: r.Timezone, Formality: r.Formality,
		MaxNotificationsPerDay: r.MaxNotificationsPerDay, Categories: r.Categories,
		LocationConsent: r.LocationConsent, ShowInAttendeeLists: r.ShowInAttendeeLists,
	}
	if r.QuietHours != nil {
		var q *hyperlieu.QuietHours
		if !bytes.Equal(bytes.TrimSpace(r.QuietHours), []byte("null")) {
			var in quietHours
			if err := json.Unmarshal(r.QuietHours, &in); err != nil {
				return p, hyperlieu.InvalidField("quietHours", `must be {"from": "HH:MM", "to": "HH:MM"} or null`).WithCause(err)
			}
			q = &hyperlieu.QuietHours{From: in.From, To: in.To}
		}
		p.QuietHours = &q
	}
	return p, nil
}

// patchMe handles PATCH /v1/me.
func (s *Server) patchMe(c fiber.Ctx) error {
	var in mePatchRequest
	if err := decode(c, &in); err != nil {
		return err
	}
	p, err := in.patch()
	if err != nil {
		return err
	}
	u, err := s.svc.Accounts.UpdateMe(c.Context(), userID(c), p)
	if err != nil {
		return err
	}
	return c.JSON(newUserResponse(u))
}

// postUserRoles handles POST /v1/admin/users/{id}/roles.
func (s *Server) postUserRoles(c fiber.Ctx) error {
	var in rolesRequest
	if err := decode(c, &in); err != nil {
		return err
	}
	u, err := s.svc.Accounts.SetRoles(c.Context(), userID(c), c.Params("id"), in.Roles)
	if err != nil {
		return err
	}
	return c.JSON(newUserResponse(u))
}
