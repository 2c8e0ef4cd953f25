package models

import (
	"bytes"
	"fmt"
	"runtime"
	"sync"

	"github.com/klauspost/compress/zstd"
	"gorm.io/gorm"
)

// BodyCodec says how a delivery's body column is stored. Stored values: never rename.
type BodyCodec string

const (
	// BodyRaw is the body as received.
	BodyRaw BodyCodec = ""
	// BodyZstd is the body compressed as one zstd frame; reading it gives back the exact bytes.
	BodyZstd BodyCodec = "zstd"
)

// minCompressedBody is the smallest body worth compressing; shorter ones gain little.
const minCompressedBody = 256

// The encoder and decoder are safe for concurrent EncodeAll and DecodeAll calls. The fastest level
// halves a typical JSON webhook in about 10 µs; the body is compressed in the request's goroutine,
// before it joins the ingest writer's queue. EncodeAll waits for one of the encoder's states, so it
// has one per CPU: with a single state the requests compressed one at a time.
var (
	bodyEncoder, _ = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest),
		zstd.WithEncoderConcurrency(runtime.GOMAXPROCS(0)), zstd.WithLowerEncoderMem(true))
	bodyDecoder, _ = zstd.NewReader(nil, zstd.WithDecoderConcurrency(0), zstd.WithDecoderMaxMemory(64<<20))
)

// SealBody returns what to store for a body, and how it is stored: compressed when that saves at
// least a tenth of it. The ingest writer uses it, and so do tools that write deliveries directly,
// such as the bench's seeder.
// Webhook JSON compresses to about half, and a delivery row of 1 KB instead of 2 KB lets SQLite fit
// three rows on a page instead of one.
func SealBody(body []byte) ([]byte, BodyCodec) {
	if len(body) < minCompressedBody {
		return body, BodyRaw
	}
	scratch := sealScratch.Get().(*[]byte)
	defer sealScratch.Put(scratch)
	z := bodyEncoder.EncodeAll(body, (*scratch)[:0])
	*scratch = z[:0]
	if len(z) > len(body)*9/10 {
		return body, BodyRaw
	}
	// Copied out at its exact size: the scratch buffer is sized for the largest body seen.
	return bytes.Clone(z), BodyZstd
}

// sealScratch holds compression buffers between requests.
var sealScratch = sync.Pool{New: func() any { return new([]byte) }}

// openBody turns a stored body back into the bytes received.
func (d *Delivery) openBody() error {
	switch d.BodyCodec {
	case BodyRaw:
		return nil
	case BodyZstd:
		raw, err := bodyDecoder.DecodeAll(d.Body, make([]byte, 0, max(d.BodySize, 0)))
		if err != nil {
			return fmt.Errorf("store: delivery %d: stored body does not decompress: %w", d.ID, err)
		}
		d.Body, d.BodyCodec = raw, BodyRaw
		return nil
	}
	return fmt.Errorf("store: delivery %d: unknown body codec %q", d.ID, d.BodyCodec)
}

// AfterFind gives every delivery read through GORM its body as received. Queries that select
// columns must select body_codec with body.
func (d *Delivery) AfterFind(*gorm.DB) error { return d.openBody() }
