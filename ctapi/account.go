package ctapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
)

// Account is the licence status notice_paid_till reports for the key.
type Account struct {
	// Valid is derived as the official clients derive it: the answer has a
	// numeric service_id or a non-empty moderate_ip. (Accepting a numeric
	// string as service_id is our leniency.)
	Valid        bool
	ServiceID    int64
	UserID       int64
	Moderate     bool // moderation is on for the service
	IPLicense    bool
	ModerateIP   bool // hosting licence bound to an IP
	ShowNotice   bool
	Renew        bool // the licence is due for renewal
	Trial        bool // the key is on a trial
	LicenseTrial bool
	ShowReview   bool
	SpamCount    int64
	AccountName  string // account_name_ob: an obfuscated account name
	// UserToken is a secret the dashboard API accepts; never log it.
	UserToken string
}

type accountWire struct {
	ServiceID    flexInt    `json:"service_id"`
	UserID       flexInt    `json:"user_id"`
	Moderate     flexInt    `json:"moderate"`
	IPLicense    flexInt    `json:"ip_license"`
	ShowNotice   flexInt    `json:"show_notice"`
	Renew        flexInt    `json:"renew"`
	Trial        flexInt    `json:"trial"`
	LicenseTrial flexInt    `json:"license_trial"`
	ShowReview   flexInt    `json:"show_review"`
	SpamCount    flexInt    `json:"spam_count"`
	AccountName  flexString `json:"account_name_ob"`
	UserToken    flexString `json:"user_token"`
}

// NoticePaidTill checks the key and its licence with notice_paid_till
// (product_id 1, anti-spam). An unknown key fails with a *CloudError that
// matches ErrInvalidKey. path_to_cms, the site address the official plugins
// add, is not sent: one proxy serves many sites.
func (c *Client) NoticePaidTill(ctx context.Context) (_ *Account, err error) {
	defer func() { err = c.scrubErr(err) }()
	if c.key == "" {
		return nil, ErrNoKey
	}
	obj, err := c.postAPI(ctx, MethodNoticePaidTill, url.Values{"product_id": {"1"}})
	if err != nil {
		return nil, err
	}
	return c.decodeAccount(obj)
}

// decodeAccount reads a notice_paid_till answer (its "data" object, or the
// answer itself when there is none).
func (c *Client) decodeAccount(obj map[string]json.RawMessage) (*Account, error) {
	if d, err := dataObject(obj); err == nil && d != nil {
		obj = d
	}
	if err := c.envelopeError(MethodNoticePaidTill, obj); err != nil {
		return nil, err
	}
	raw, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	var w accountWire
	if err := json.Unmarshal(raw, &w); err != nil {
		return nil, fmt.Errorf("ctapi: %s: %w: %v", MethodNoticePaidTill, errMalformed, err)
	}
	return &Account{
		Valid:        isJSONInteger(obj["service_id"]) || !phpEmpty(obj["moderate_ip"]),
		ServiceID:    w.ServiceID.v,
		UserID:       w.UserID.v,
		Moderate:     w.Moderate.v != 0,
		IPLicense:    w.IPLicense.v != 0,
		ModerateIP:   !phpEmpty(obj["moderate_ip"]),
		ShowNotice:   w.ShowNotice.v != 0,
		Renew:        w.Renew.v != 0,
		Trial:        w.Trial.v != 0,
		LicenseTrial: w.LicenseTrial.v != 0,
		ShowReview:   w.ShowReview.v != 0,
		SpamCount:    w.SpamCount.v,
		AccountName:  w.AccountName.v,
		UserToken:    w.UserToken.v,
	}, nil
}
