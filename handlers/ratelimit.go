package handlers

import (
	"math"
	"strconv"
	"sync"
	"time"
)

// RateLimiter is a token bucket per endpoint: an endpoint may send Rate requests a second on average
// and Burst at once. It is kept in memory, so each instance counts on its own. A nil *RateLimiter
// allows everything.
type RateLimiter struct {
	rate  float64 // tokens added a second
	burst float64 // bucket size
	now   func() time.Time
	// idle is how long a bucket takes to fill up from empty. A bucket untouched that long is full,
	// the same as a fresh one, so dropping it changes nothing; this is what keeps memory bounded.
	idle time.Duration

	mu        sync.Mutex
	buckets   map[uint]*bucket
	lastSweep time.Time
}

type bucket struct {
	tokens float64
	at     time.Time // when tokens was last brought up to date
}

// NewRateLimiter returns a limiter of rate requests a second with bursts of burst (0 means twice the
// rate), reading the time from now; it returns nil, no limit, when rate is not positive.
func NewRateLimiter(rate float64, burst int, now func() time.Time) *RateLimiter {
	if !(rate > 0) || math.IsInf(rate, 0) {
		return nil
	}
	if burst <= 0 {
		burst = max(1, int(math.Ceil(2*rate)))
	}
	if now == nil {
		now = time.Now
	}
	idle := time.Duration(float64(burst) / rate * float64(time.Second))
	return &RateLimiter{rate: rate, burst: float64(burst), now: now, idle: max(idle, time.Second),
		buckets: map[uint]*bucket{}, lastSweep: now()}
}

// Allow takes one request's token from endpoint id's bucket. When the bucket is empty it takes
// nothing, returns false, and says how long until the next token.
func (l *RateLimiter) Allow(id uint) (bool, time.Duration) {
	if l == nil {
		return true, 0
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweep(now)
	b, ok := l.buckets[id]
	if !ok {
		b = &bucket{tokens: l.burst, at: now}
		l.buckets[id] = b
	}
	if elapsed := now.Sub(b.at); elapsed > 0 {
		b.tokens = min(l.burst, b.tokens+elapsed.Seconds()*l.rate)
		b.at = now
	}
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
}

// sweep drops the buckets that have been full for a while, at most once per idle period.
func (l *RateLimiter) sweep(now time.Time) {
	if now.Sub(l.lastSweep) < l.idle {
		return
	}
	l.lastSweep = now
	for id, b := range l.buckets {
		if now.Sub(b.at) >= l.idle {
			delete(l.buckets, id)
		}
	}
}

// Tracked is how many endpoints currently hold a bucket; eviction keeps it to the recently active ones.
func (l *RateLimiter) Tracked() int {
	if l == nil {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}

// Reason is the rejection reason stored with a delivery over the limit.
func (l *RateLimiter) Reason() string {
	return "rate limit exceeded (" + strconv.FormatFloat(l.rate, 'f', -1, 64) + "/s per endpoint)"
}

// retryAfter is wait as a Retry-After value: whole seconds, rounded up, at least 1.
func retryAfter(wait time.Duration) string {
	return strconv.Itoa(max(1, int(math.Ceil(wait.Seconds()))))
}
