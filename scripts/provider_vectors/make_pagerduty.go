// PagerDuty v3 webhooks: X-PagerDuty-Signature = "v1=<hex HMAC-SHA256 of the body>", one per signing secret,
// comma separated (https://developer.pagerduty.com/docs/28e906a0b3acb-verifying-signatures). The request is
// built from those docs; PagerDuty's own Go SDK (github.com/PagerDuty/go-pagerduty, package webhookv3) must
// accept it, or nothing is written. The Go module proxy is not reachable here, so the SDK's package is
// copied from a checkout into a scratch module:
//
//	mkdir -p /tmp/pv-pagerduty/webhookv3 && cd /tmp/pv-pagerduty && go mod init pvpd
//	git -C <go-pagerduty checkout> show <commit>:webhookv3/webhookv3.go > webhookv3/webhookv3.go
//	cp <this file> main.go && go run . <commit> /path/to/tests/unit/ingress/providers/vectors/pagerduty.json
package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"os"
	"time"

	"pvpd/webhookv3"
)

func sign(secret, body string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(body))
	return hex.EncodeToString(m.Sum(nil))
}

func main() {
	commit, out := os.Args[1], os.Args[2]
	secret := "pagerduty-hookline-test-secret"
	body := `{"event":{"id":"01DEN3G1T7OHU1VK1RE5RAFJUA","event_type":"incident.triggered",` +
		`"resource_type":"incident","occurred_at":"2026-12-06T06:00:00.000Z","data":{"id":"PGR0VU2"}}}`
	// During a rotation PagerDuty sends one signature per secret: the first is made with another one.
	sig := sign(secret, body)
	header := "v1=" + sign("the-previous-secret", body) + ",v1=" + sig
	r, _ := http.NewRequest("POST", "https://hooks.example.com/webhooks/pagerduty", bytes.NewBufferString(body))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("X-PagerDuty-Signature", header)
	if err := webhookv3.VerifySignature(r, secret); err != nil {
		panic("go-pagerduty's webhookv3.VerifySignature rejected it: " + err.Error())
	}
	vector := map[string]any{
		"provider":     "pagerduty",
		"signer":       "github.com/PagerDuty/go-pagerduty@" + commit + " (Go): webhookv3.VerifySignature accepted it",
		"made_by":      "scripts/provider_vectors/make_pagerduty.go (see its header)",
		"secret":       secret,
		"method":       "POST",
		"headers":      map[string]string{"content-type": "application/json", "x-pagerduty-signature": header},
		"body":         body,
		"now":          time.Now().Unix(),
		"signature":    sig,
		"signature_in": "x-pagerduty-signature",
		"event_id":     "01DEN3G1T7OHU1VK1RE5RAFJUA",
		"event_type":   "incident.triggered",
	}
	data, _ := json.MarshalIndent(vector, "", "  ")
	if err := os.WriteFile(out, append(data, '\n'), 0o644); err != nil {
		panic(err)
	}
}
