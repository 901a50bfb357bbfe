package cleantalk

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"sync"
	"time"

	"github.com/caddyserver/certmagic"
)

// Caddy's storage keeps the module's shared state: the signing secret, the
// firewall snapshot and the feedback queue. A storage that fails (read-only,
// unreachable, a path that cannot be created) does not stop Caddy: the
// secret is kept in memory, the firewall is enforced from its download, and
// what failed is shown in /cleantalk/status. Only feedback, which must not
// be lost, is refused while it cannot be stored.

// storageRef is a config's storage. Every use goes through it, so that it
// knows the storage's last failure; it can sit in an atomic.Pointer.
type storageRef struct {
	certmagic.Storage
	health *storageHealth
}

func newStorageRef(s certmagic.Storage) *storageRef {
	return &storageRef{Storage: s, health: new(storageHealth)}
}

// storageHealth is the last failure of a storage. It stays until a later
// write succeeds: a storage that reads but cannot write is not healthy.
type storageHealth struct {
	mu    sync.Mutex
	err   string
	errAt time.Time
}

// note records the outcome of an operation on key and passes err on. A key
// that does not exist is an answer, not a failure.
func (s *storageRef) note(write bool, op, key string, err error) error {
	h := s.health
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case err == nil && write:
		h.err, h.errAt = "", time.Time{}
	case err != nil && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, context.Canceled):
		h.err, h.errAt = fmt.Sprintf("%s %s: %v", op, key, err), now()
	}
	return err
}

// lastError is the storage's standing failure, if any.
func (s *storageRef) lastError() (string, time.Time) {
	s.health.mu.Lock()
	defer s.health.mu.Unlock()
	return s.health.err, s.health.errAt
}

func (s *storageRef) Store(ctx context.Context, key string, value []byte) error {
	return s.note(true, "storing", key, s.Storage.Store(ctx, key, value))
}

func (s *storageRef) Load(ctx context.Context, key string) ([]byte, error) {
	b, err := s.Storage.Load(ctx, key)
	return b, s.note(false, "loading", key, err)
}

func (s *storageRef) Delete(ctx context.Context, key string) error {
	return s.note(true, "deleting", key, s.Storage.Delete(ctx, key))
}

func (s *storageRef) Stat(ctx context.Context, key string) (certmagic.KeyInfo, error) {
	info, err := s.Storage.Stat(ctx, key)
	return info, s.note(false, "reading", key, err)
}

func (s *storageRef) Lock(ctx context.Context, name string) error {
	return s.note(true, "locking", name, s.Storage.Lock(ctx, name))
}

// storageReply is what /cleantalk/status says about the storage.
type storageReply struct {
	// False while the last failure stands.
	OK          bool       `json:"ok"`
	LastError   string     `json:"last_error,omitempty"`
	LastErrorAt *time.Time `json:"last_error_at,omitempty"`
	// Where the signing secret is kept: "storage", or "memory" when the
	// storage could not give one (cookies then do not verify on other
	// instances, nor after a restart).
	Secret string `json:"secret"`
}

func (a *App) storageStatus() storageReply {
	reply := storageReply{OK: true, Secret: "storage"}
	if a.secretInMemory {
		reply.Secret = "memory"
	}
	if msg, at := a.storage.lastError(); msg != "" {
		reply.OK, reply.LastError, reply.LastErrorAt = false, msg, &at
	}
	return reply
}

// Interface guard
var _ certmagic.Storage = (*storageRef)(nil)
