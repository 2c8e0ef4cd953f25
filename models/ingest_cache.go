package models

import (
	"sync"
	"time"
)

// ingestCacheTTL is how long the ingest path trusts an endpoint and its secrets without reading them
// again. Changes made through this store take effect at once (they clear the cache); changes made by
// another instance sharing the database, or by a CLI command, within this long.
const ingestCacheTTL = time.Second

// IngestTarget is an endpoint as the ingest path needs it: its settings and its secrets, opened.
type IngestTarget struct {
	Endpoint Endpoint
	secrets  []openSecret
}

// ValidSecrets returns the plaintext of the secrets valid at now, newest first.
func (t *IngestTarget) ValidSecrets(now time.Time) []string {
	var out []string
	for _, s := range t.secrets {
		if s.meta.Valid(now) {
			out = append(out, s.plaintext)
		}
	}
	return out
}

// ingestCache keeps recently used ingest targets by token. Every webhook needs its endpoint and its
// secrets decrypted; reading and opening them per request cost more than a tenth of the server's
// CPU under load.
type ingestCache struct {
	mu      sync.Mutex
	gen     uint64
	entries map[string]ingestCacheEntry
}

type ingestCacheEntry struct {
	target *IngestTarget
	loaded time.Time // wall clock of this process, not the store's (tests move that)
	gen    uint64
}

// maxIngestCacheEntries bounds the cache; a merchant has a handful of endpoints, not thousands.
const maxIngestCacheEntries = 4096

// IngestTarget returns the endpoint at an ingest token with its secrets, from the cache when fresh.
// An unknown token is never cached, so random tokens cannot fill it.
func (s *Store) IngestTarget(token string) (*IngestTarget, error) {
	c := &s.ingestCache
	c.mu.Lock()
	e, ok := c.entries[token]
	gen := c.gen
	c.mu.Unlock()
	if ok && e.gen == gen && time.Since(e.loaded) < ingestCacheTTL {
		return e.target, nil
	}
	ep, err := s.EndpointByToken(token)
	if err != nil {
		return nil, err
	}
	secrets, err := s.openValidSecrets(ep.ID)
	if err != nil {
		return nil, err
	}
	t := &IngestTarget{Endpoint: *ep, secrets: secrets}
	c.mu.Lock()
	if c.entries == nil || len(c.entries) >= maxIngestCacheEntries {
		c.entries = make(map[string]ingestCacheEntry)
	}
	if c.gen == gen { // not cleared while loading, so what was read is current
		c.entries[token] = ingestCacheEntry{target: t, loaded: time.Now(), gen: gen}
	}
	c.mu.Unlock()
	return t, nil
}

// forgetIngestTargets clears the cache after a change to an endpoint or its secrets.
func (s *Store) forgetIngestTargets() {
	c := &s.ingestCache
	c.mu.Lock()
	c.gen++
	c.entries = nil
	c.mu.Unlock()
}
