package testapp_test

import (
	"testing"

	"hooklog/models"
	"hooklog/testapp"
	"hooklog/webhooks"
)

func TestSmoke(t *testing.T) {
	a := testapp.New(t)
	a.User("Acme", "admin@acme.test", models.RoleAdmin)
	ep := a.Endpoint("Acme", "generic", "", webhooks.Settings{})
	r := a.SendSample(ep, "payment.completed", webhooks.SampleParams{OrderRef: "o1"})
	if r.Status != 200 || r.Outcome != models.OutcomeAccepted {
		t.Fatalf("%+v", r)
	}
	a.WaitStatus(r.EventID, models.StatusProcessed)
	b := a.Login("admin@acme.test")
	if b.CSRF == "" {
		t.Fatal("no csrf")
	}
}
