package handlers

import (
	"bytes"
	"encoding/json"
	"testing"

	"hooklog/models"
)

// TestIngestReplyEncode: the hand-built acknowledgement is byte for byte what encoding/json (as
// c.JSON uses it) writes, for every field present or absent and for text that needs escaping.
func TestIngestReplyEncode(t *testing.T) {
	for _, r := range []ingestReply{
		{Outcome: models.OutcomeAccepted, DeliveryID: 1, EventID: 2},
		{Outcome: models.OutcomeDuplicate, DeliveryID: 18446744073, EventID: 7},
		{Outcome: models.OutcomeRejected, DeliveryID: 9, Error: "signature: no valid v1 signature"},
		{Outcome: models.OutcomeAccepted, DeliveryID: 3},
		{Error: "no endpoint at this URL"},
		{},
		{Error: `quote " backslash \ <tag> & ünïcode` + "\n\x01"},
		{Outcome: "odd\"outcome", DeliveryID: 4},
	} {
		var want bytes.Buffer
		if err := json.NewEncoder(&want).Encode(r); err != nil {
			t.Fatal(err)
		}
		if got := r.encode(); !bytes.Equal(got, want.Bytes()) {
			t.Errorf("encode(%+v) = %q; encoding/json writes %q", r, got, want.Bytes())
		}
	}
}
