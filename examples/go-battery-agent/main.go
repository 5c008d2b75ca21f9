// go-battery-agent: an outside on-site battery operator that joins a CACO site over NATS.
//
// It announces itself to the site's gateway, registers as a NATS service (so $SRV.PING/INFO/STATS.<name>
// find it), appends one energy offer and then its battery state every -interval as signed facts
// of its own, and logs every reply as a JSON line on stdout. The wire protocol is
// docs/external-agent.md; the only dependencies are Go's standard library (ed25519) and nats.go.
package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/ioutil"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
)

const keyFileFormat = "caco-signing-key/1"

// The site-owned outside-fact types this agent publishes (schemas/json/<type>.v1.json).
var publishes = []string{"onsite.battery.state.reported", "onsite.energy.offered"}

// keyFile is the project's key file (`caco keys new` writes the same shape).
type keyFile struct {
	Format     string `json:"format"`
	KeyID      string `json:"keyId"`
	Party      string `json:"party"`
	Role       string `json:"role"`
	PublicKey  string `json:"publicKey"`
	PrivateKey string `json:"privateKey"` // base64 of the 32-byte ed25519 seed
}

type signer struct {
	keyID string
	party string
	priv  ed25519.PrivateKey
	// site and the lifetime bind every signed request to one site and a short time, inside the
	// signature: a copy taken off the wire is refused at another site and after it expires.
	site string
	ttl  time.Duration
}

// commandLifetime is how long a signed request stays good (the site refuses it after, and
// refuses one that claims more than 24 h).
const commandLifetime = 5 * time.Minute

type config struct {
	url, creds, nkey, site, keyPath, schemasDir, assetID, version string
	interval, timeout                                             time.Duration
	reports, retries                                              int
	duplicate                                                     bool
	capacityKwh, socKwh, maxKw                                    float64
	offerFrom                                                     string
	offerHours, offerKw, offerPrice, offerCarbon                  float64
}

func main() {
	var c config
	genKey := flag.Bool("gen-key", false, "write a new key file at -key for party -name, print its public key (base64) and exit")
	name := flag.String("name", "", "with -gen-key: the agent's name, which is its party in the site's key registry")
	keyID := flag.String("key-id", "", "with -gen-key: the key id (default <name>-key)")
	sample := flag.Bool("print-signed-sample", false, "print signed sample messages (announce, append, a canonical-JSON probe) as JSON lines and exit; no network")
	flag.StringVar(&c.url, "url", nats.DefaultURL, "NATS server URL")
	flag.StringVar(&c.creds, "creds", "", "NATS JWT credentials file (.creds; optional)")
	flag.StringVar(&c.nkey, "nkey", "", "NATS nkey seed file as `caco nats creds` writes it (<name>.nk); sets the inbox prefix _INBOX_<name> the site's permissions allow (optional)")
	flag.StringVar(&c.site, "site", "london", "the site's name: subjects are caco.<site>.…")
	flag.StringVar(&c.keyPath, "key", "battery.key.json", "the agent's key file (caco-signing-key/1: keyId, party, base64 ed25519 seed)")
	flag.StringVar(&c.schemasDir, "schemas", "", "directory of the site's JSON Schemas (schemas/json); when given, the announce carries the data schema of each type it publishes")
	flag.StringVar(&c.assetID, "asset", "bat-1", "the battery's asset id")
	flag.StringVar(&c.version, "version", "1.0.0", "the agent's version (semver) in its announce and service info")
	flag.DurationVar(&c.interval, "interval", 10*time.Second, "how often to report the battery state")
	flag.DurationVar(&c.timeout, "timeout", 3*time.Second, "how long to wait for each reply before sending the same message (same id) again")
	flag.IntVar(&c.retries, "retries", 5, "how many times to send a message before giving up")
	flag.BoolVar(&c.duplicate, "duplicate", false, "send every append twice with the same id, as after a lost reply, to see the gateway dedupe it (duplicate:true, same position)")
	flag.IntVar(&c.reports, "reports", 0, "stop after this many state reports (0: run until interrupted)")
	flag.Float64Var(&c.capacityKwh, "capacity-kwh", 2000, "battery capacity (kWh)")
	flag.Float64Var(&c.socKwh, "soc-kwh", 1600, "state of charge at start (kWh)")
	flag.Float64Var(&c.maxKw, "max-kw", 1000, "maximum charge and discharge power (kW)")
	flag.StringVar(&c.offerFrom, "offer-from", "", "start of the energy offer, ISO UTC on a half-hour (default: the next half-hour but one)")
	flag.Float64Var(&c.offerHours, "offer-hours", 2, "length of the offer (hours, whole half-hours)")
	flag.Float64Var(&c.offerKw, "offer-kw", 1000, "power offered to the site (kW); 0 sends no offer")
	flag.Float64Var(&c.offerPrice, "offer-price", 20, "price of the energy offered (£/MWh)")
	flag.Float64Var(&c.offerCarbon, "offer-carbon", 15, "carbon intensity of the energy offered (gCO2/kWh)")
	flag.Parse()

	if *genKey {
		if err := generateKey(c.keyPath, *name, *keyID, c.url, c.site); err != nil {
			fatal("gen-key", err)
		}
		return
	}
	s, err := loadKey(c.keyPath)
	if err != nil {
		fatal("key", err)
	}
	s.site, s.ttl = c.site, commandLifetime
	if *sample {
		if err := printSample(s, c); err != nil {
			fatal("sample", err)
		}
		return
	}
	if err := run(s, c); err != nil {
		fatal("run", err)
	}
}

// logLine writes one JSON object per line on stdout: what happened and the reply, if any.
func logLine(fields map[string]interface{}) {
	fields["at"] = time.Now().UTC().Format(time.RFC3339Nano)
	b, _ := json.Marshal(fields)
	fmt.Println(string(b))
}

func fatal(what string, err error) {
	logLine(map[string]interface{}{"event": "fatal", "what": what, "error": err.Error()})
	os.Exit(2)
}

func generateKey(path, name, keyID, url, site string) error {
	if name == "" {
		return errors.New("-name is required with -gen-key (it is the agent's party)")
	}
	if keyID == "" {
		keyID = name + "-key"
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	k := keyFile{Format: keyFileFormat, KeyID: keyID, Party: name, Role: "third-party", PublicKey: base64.StdEncoding.EncodeToString(pub), PrivateKey: base64.StdEncoding.EncodeToString(priv.Seed())}
	b, _ := json.MarshalIndent(k, "", "  ")
	// Never overwrite a key; readable by its owner only.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Println(k.PublicKey)
	// The site's registry is where the running site reads it: on JetStream for a site serving
	// the gateway on NATS (`caco run`); without --store, `caco keys` would look in a SQLite file.
	fmt.Fprintf(os.Stderr, "wrote %s; register it on the site's machine (with the site's --data-dir if it is not ./var) with:\n  caco keys add --key-id %s --party %s --role third-party --public-key %s --store jetstream --nats-url %s --site %s\n", path, keyID, name, k.PublicKey, url, site)
	return nil
}

func loadKey(path string) (*signer, error) {
	b, err := ioutil.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w (make one with -gen-key -name <agent>)", path, err)
	}
	var k keyFile
	if err := json.Unmarshal(b, &k); err != nil {
		return nil, fmt.Errorf("%s: not JSON: %w", path, err)
	}
	if k.Format != keyFileFormat {
		return nil, fmt.Errorf("%s: format: expected %q", path, keyFileFormat)
	}
	seed, err := base64.StdEncoding.DecodeString(k.PrivateKey)
	if err != nil || len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("%s: privateKey: not the base64 of a 32-byte ed25519 seed", path)
	}
	if k.KeyID == "" || k.Party == "" {
		return nil, fmt.Errorf("%s: keyId and party are required", path)
	}
	priv := ed25519.NewKeyFromSeed(seed)
	if k.PublicKey != "" && k.PublicKey != base64.StdEncoding.EncodeToString(priv.Public().(ed25519.PublicKey)) {
		return nil, fmt.Errorf("%s: publicKey does not belong to privateKey", path)
	}
	return &signer{keyID: k.KeyID, party: k.Party, priv: priv}, nil
}

// sign sets source, keyId, site and expiresAt and adds sig: ed25519 over the canonical JSON
// of the rest.
func (s *signer) sign(msg map[string]interface{}) (map[string]interface{}, error) {
	delete(msg, "sig")
	msg["source"] = s.party
	msg["keyId"] = s.keyID
	if s.site != "" {
		msg["site"] = s.site
	}
	if s.ttl > 0 {
		msg["expiresAt"] = time.Now().Add(s.ttl).UTC().Format("2006-01-02T15:04:05.000Z")
	}
	c, err := Canonical(msg)
	if err != nil {
		return nil, err
	}
	msg["sig"] = base64.StdEncoding.EncodeToString(ed25519.Sign(s.priv, []byte(c)))
	return msg, nil
}

// newID is a random (version 4) UUID: the agent's own event id, used by the gateway to dedupe.
func newID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func isoUTC(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func announceMessage(s *signer, c config) (map[string]interface{}, error) {
	schemas := map[string]interface{}{}
	if c.schemasDir != "" {
		for _, t := range publishes {
			path := filepath.Join(c.schemasDir, t+".v1.json")
			b, err := ioutil.ReadFile(path)
			if err != nil {
				return nil, err
			}
			var full map[string]interface{}
			if err := json.Unmarshal(b, &full); err != nil {
				return nil, fmt.Errorf("%s: %w", path, err)
			}
			props, _ := full["properties"].(map[string]interface{})
			if props == nil || props["data"] == nil {
				return nil, fmt.Errorf("%s: no properties.data", path)
			}
			schemas[t] = props["data"]
		}
	}
	pubs := make([]interface{}, len(publishes))
	for i, t := range publishes {
		pubs[i] = t
	}
	return s.sign(map[string]interface{}{
		"name":      s.party,
		"version":   c.version,
		"publishes": pubs,
		"consumes":  []interface{}{},
		"schemas":   schemas,
	})
}

func appendMessage(s *signer, typ string, data map[string]interface{}) (map[string]interface{}, error) {
	return s.sign(map[string]interface{}{"id": newID(), "type": typ, "version": 1, "data": data})
}

func (c config) offerWindow(now time.Time) (time.Time, time.Time, error) {
	var from time.Time
	if c.offerFrom != "" {
		t, err := time.Parse(time.RFC3339, c.offerFrom)
		if err != nil {
			return from, from, fmt.Errorf("-offer-from: %w", err)
		}
		from = t.UTC()
	} else {
		from = now.UTC().Truncate(30 * time.Minute).Add(time.Hour)
	}
	if from.Truncate(30*time.Minute) != from {
		return from, from, errors.New("-offer-from: must be on a half-hour (minutes 00 or 30)")
	}
	d := time.Duration(c.offerHours * float64(time.Hour))
	if d <= 0 || d%(30*time.Minute) != 0 || d > 7*24*time.Hour {
		return from, from, errors.New("-offer-hours: whole half-hours, more than 0 and at most 7 days")
	}
	return from, from.Add(d), nil
}

func offerData(c config, from, to time.Time) map[string]interface{} {
	return map[string]interface{}{
		"assetId": c.assetID, "from": isoUTC(from), "to": isoUTC(to),
		"powerKw": c.offerKw, "priceGbpPerMwh": c.offerPrice, "carbonGPerKwh": c.offerCarbon,
	}
}

func stateData(c config, soc float64, at time.Time) map[string]interface{} {
	return map[string]interface{}{
		"assetId": c.assetID, "stateOfChargeKwh": soc, "capacityKwh": c.capacityKwh,
		"maxDischargeKw": c.maxKw, "maxChargeKw": c.maxKw, "at": isoUTC(at),
	}
}

func printSample(s *signer, c config) error {
	out := []map[string]interface{}{}
	a, err := announceMessage(s, c)
	if err != nil {
		return err
	}
	out = append(out, a)
	from, to, err := c.offerWindow(time.Date(2026, 1, 5, 9, 10, 0, 0, time.UTC))
	if err != nil {
		return err
	}
	o, err := appendMessage(s, "onsite.energy.offered", offerData(c, from, to))
	if err != nil {
		return err
	}
	out = append(out, o)
	st, err := appendMessage(s, "onsite.battery.state.reported", stateData(c, c.socKwh, time.Date(2026, 1, 5, 9, 10, 0, 0, time.UTC)))
	if err != nil {
		return err
	}
	out = append(out, st)
	// A probe of the canonicaliser's corners: number forms, escapes, non-ASCII keys and order.
	probe, err := s.sign(map[string]interface{}{
		"numbers": []interface{}{0.0, -0.5, 1e21, 1e20, 1.5e-7, 0.000001, 123.456, 1.0 / 3.0, -1e-300, 9007199254740991.0},
		"text":    "tab\t quote\" backslash\\ nl\n ctl\u0001 é € 😀 \u2028",
		"\u20ac":  "euro key", "\r": "cr key", "a": map[string]interface{}{"z": nil, "y": true, "x": false},
	})
	if err != nil {
		return err
	}
	out = append(out, probe)
	for _, m := range out {
		canon, err := Canonical(withoutSig(m))
		if err != nil {
			return err
		}
		b, _ := json.Marshal(map[string]interface{}{"message": m, "canonical": canon})
		fmt.Println(string(b))
	}
	return nil
}

func withoutSig(m map[string]interface{}) map[string]interface{} {
	c := map[string]interface{}{}
	for k, v := range m {
		if k != "sig" {
			c[k] = v
		}
	}
	return c
}

// request sends msg and waits for the reply, sending the very same bytes (same id) again on a
// timeout: the gateway dedupes by id, so a retry never makes a second fact.
func request(nc *nats.Conn, subject string, msg map[string]interface{}, c config) (map[string]interface{}, error) {
	body, err := json.Marshal(msg)
	if err != nil {
		return nil, err
	}
	for attempt := 1; attempt <= c.retries; attempt++ {
		reply, err := nc.Request(subject, body, c.timeout)
		if errors.Is(err, nats.ErrTimeout) || errors.Is(err, nats.ErrNoResponders) {
			logLine(map[string]interface{}{"event": "retry", "subject": subject, "id": msg["id"], "attempt": attempt, "error": err.Error()})
			if errors.Is(err, nats.ErrNoResponders) {
				time.Sleep(c.timeout)
			}
			continue
		}
		if err != nil {
			return nil, err
		}
		var r map[string]interface{}
		if err := json.Unmarshal(reply.Data, &r); err != nil {
			return nil, fmt.Errorf("%s: reply is not JSON: %q", subject, string(reply.Data))
		}
		return r, nil
	}
	return nil, fmt.Errorf("%s: no reply after %d attempts", subject, c.retries)
}

// inboxPrefixOf reads the "# inbox-prefix: <prefix>" line `caco nats creds` writes into a seed
// file; without one, the NATS default.
func inboxPrefixOf(file string) (string, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("-nkey %s: %v", file, err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		l := strings.TrimSpace(line)
		if !strings.HasPrefix(l, "#") {
			continue
		}
		if rest := strings.TrimSpace(strings.TrimPrefix(l, "#")); strings.HasPrefix(rest, "inbox-prefix:") {
			return strings.TrimSpace(strings.TrimPrefix(rest, "inbox-prefix:")), nil
		}
	}
	return "_INBOX", nil
}

func run(s *signer, c config) error {
	opts := []nats.Option{nats.Name("caco-go-battery-agent " + s.party), nats.MaxReconnects(-1)}
	if c.creds != "" {
		opts = append(opts, nats.UserCredentials(c.creds))
	}
	if c.nkey != "" {
		// The site's NATS permissions let a third party read replies only under its own inbox
		// prefix: without it every request times out, though the site acted on it.
		nk, err := nats.NkeyOptionFromSeed(c.nkey)
		if err != nil {
			return fmt.Errorf("-nkey %s: %v", c.nkey, err)
		}
		prefix, err := inboxPrefixOf(c.nkey)
		if err != nil {
			return err
		}
		opts = append(opts, nk, nats.CustomInboxPrefix(prefix))
	}
	nc, err := nats.Connect(c.url, opts...)
	if err != nil {
		return err
	}
	defer nc.Drain()
	gw := "caco." + c.site + ".gw."

	ann, err := announceMessage(s, c)
	if err != nil {
		return err
	}
	r, err := request(nc, gw+"announce", ann, c)
	if err != nil {
		return err
	}
	logLine(map[string]interface{}{"event": "reply", "subject": gw + "announce", "reply": r})
	if ok, _ := r["ok"].(bool); !ok {
		return fmt.Errorf("announce refused: %v", r["error"])
	}

	svc, err := startService(nc, s.party, c)
	if err != nil {
		return err
	}
	defer svc.stop()

	appendFact := func(typ string, data map[string]interface{}) error {
		m, err := appendMessage(s, typ, data)
		if err != nil {
			return err
		}
		r, err := request(nc, gw+"append", m, c)
		if err != nil {
			return err
		}
		logLine(map[string]interface{}{"event": "reply", "subject": gw + "append", "type": typ, "id": m["id"], "reply": r})
		if c.duplicate {
			again, err := request(nc, gw+"append", m, c)
			if err != nil {
				return err
			}
			logLine(map[string]interface{}{"event": "reply", "subject": gw + "append", "type": typ, "id": m["id"], "resent": true, "reply": again})
		}
		return nil
	}

	if c.offerKw > 0 {
		from, to, err := c.offerWindow(time.Now())
		if err != nil {
			return err
		}
		if err := appendFact("onsite.energy.offered", offerData(c, from, to)); err != nil {
			return err
		}
	}

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	tick := time.NewTicker(c.interval)
	defer tick.Stop()
	soc := c.socKwh
	for n := 1; ; n++ {
		if err := appendFact("onsite.battery.state.reported", stateData(c, soc, time.Now())); err != nil {
			return err
		}
		if c.reports > 0 && n >= c.reports {
			logLine(map[string]interface{}{"event": "done", "reports": n})
			return nil
		}
		// A gentle discharge, so successive reports differ.
		soc = soc * 0.99
		select {
		case <-tick.C:
		case sig := <-stop:
			logLine(map[string]interface{}{"event": "stopped", "signal": sig.String()})
			return nil
		}
	}
}

// joinTypes is how a list goes into service metadata, whose values are strings.
func joinTypes(ts []string) string { return strings.Join(ts, ",") }
