package handlers

// The htmx request and response headers Hooklog reads or sets, in one place.
const (
	HeaderHXRequest        = "HX-Request"
	HeaderHXBoosted        = "HX-Boosted"
	HeaderHXHistoryRestore = "HX-History-Restore-Request"
	HeaderHXTarget         = "HX-Target"
	HeaderHXRedirect       = "HX-Redirect"
	HeaderHXRefresh        = "HX-Refresh"
	HeaderHXTrigger        = "HX-Trigger"
	HeaderHXPushURL        = "HX-Push-Url"
	HeaderHXReplaceURL     = "HX-Replace-Url"
	HeaderHXRetarget       = "HX-Retarget"
	HeaderHXReswap         = "HX-Reswap"
	// HeaderCSRF carries the CSRF token on htmx requests (the layout puts it in hx-headers).
	HeaderCSRF = "X-CSRF-Token"
)
