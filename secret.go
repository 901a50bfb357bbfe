package cleantalk

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/certmagic"
	"go.uber.org/zap"
)

// secretKey is where the signing secret lives in Caddy's storage, so that
// every instance sharing the storage, and every restart, signs and verifies
// cookies alike.
const (
	secretKey  = "cleantalk/secret"
	secretLock = "cleantalk/secret.lock"
)

// secret signs the cookies the module hands out (firewall pass, page-load
// time, JavaScript proof). Each purpose gets its own derived key.
type secret struct {
	root []byte
}

// errCorruptSecret: the stored secret is not one this module wrote.
var errCorruptSecret = errors.New(secretKey + " in storage is corrupt; delete it to have a new one made")

// provisionSecret loads the signing secret. A storage that cannot give one
// does not stop Caddy: the process's own secret is used, with a warning,
// and the status says so.
func (a *App) provisionSecret() error {
	s, err := loadSecret(a.ctx, a.storage)
	switch {
	case err == nil:
		a.secret = s
	case errors.Is(err, errCorruptSecret):
		return fmt.Errorf("cleantalk: %w", err)
	default:
		a.secret, a.secretInMemory = processSecret(), true
		a.logger.Warn("the signing secret cannot be kept in storage; one kept in memory signs the cookies, "+
			"so pass cookies and page stamps stop verifying at the next restart and on other instances sharing the storage",
			zap.Error(err))
	}
	return nil
}

// processSecret is this process's own secret: the one used while the
// storage cannot keep one, the same across config reloads, and the one
// stored when there is none yet, so that cookies signed while the storage
// was failing stay good once it works.
var processSecret = sync.OnceValue(func() *secret {
	root := make([]byte, 32)
	_, _ = rand.Read(root)
	return &secret{root: root}
})

// loadSecret reads the signing secret from storage, creating it once under
// the storage lock so that instances of a cluster agree on one.
func loadSecret(ctx caddy.Context, storage certmagic.Storage) (*secret, error) {
	if s, err := readSecret(ctx, storage); err == nil {
		return s, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if err := storage.Lock(ctx, secretLock); err != nil {
		return nil, fmt.Errorf("locking %s: %w", secretLock, err)
	}
	defer func() { _ = storage.Unlock(context.WithoutCancel(ctx), secretLock) }()
	if s, err := readSecret(ctx, storage); err == nil {
		return s, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	s := processSecret()
	if err := storage.Store(ctx, secretKey, []byte(hex.EncodeToString(s.root)+"\n")); err != nil {
		return nil, fmt.Errorf("storing %s: %w", secretKey, err)
	}
	return s, nil
}

func readSecret(ctx context.Context, storage certmagic.Storage) (*secret, error) {
	b, err := storage.Load(ctx, secretKey)
	if err != nil {
		return nil, err
	}
	root, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(root) < 32 {
		return nil, errCorruptSecret
	}
	return &secret{root: root}, nil
}

// key derives the key of one purpose.
func (s *secret) key(purpose string) []byte {
	m := hmac.New(sha256.New, s.root)
	m.Write([]byte("caddy-cleantalk/" + purpose))
	return m.Sum(nil)
}

// A stamp is "<unix>.<mac>": a time signed for one purpose, optionally
// bound to a client address. The signals and the firewall's pass cookie
// are stamps.

func (a *App) stamp(purpose string, t time.Time, ip netip.Addr) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return ts + "." + a.stampMAC(purpose, ts, ip)
}

func (a *App) stampMAC(purpose, ts string, ip netip.Addr) string {
	m := hmac.New(sha256.New, a.secret.key(purpose))
	if ip.IsValid() {
		b := ip.As16()
		m.Write(b[:])
	}
	m.Write([]byte(ts))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:18])
}

// readStamp returns the time of a stamp whose signature is good for the
// purpose and address; how old it may be is the caller's rule.
func (a *App) readStamp(purpose, value string, ip netip.Addr) (time.Time, bool) {
	ts, mac, ok := strings.Cut(value, ".")
	if !ok {
		return time.Time{}, false
	}
	unix, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || !hmac.Equal([]byte(mac), []byte(a.stampMAC(purpose, ts, ip))) {
		return time.Time{}, false
	}
	return time.Unix(unix, 0), true
}
