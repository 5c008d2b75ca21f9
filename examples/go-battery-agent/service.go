package main

// Discovery through the NATS services protocol (ADR-32, "micro" v1): the agent answers
// $SRV.PING, $SRV.INFO and $SRV.STATS by its name, and by name and id ($SRV.INFO.<name>,
// $SRV.INFO.<name>.<id>), with the io.nats.micro.v1 responses, so `nats micro info <name>` and
// @nats-io/services' Svcm client (info("<name>")) find it with its metadata {site, publishes,
// consumes}. Not the bare $SRV.PING/INFO/STATS: a site's NATS server refuses those to a third
// party (an answer there could claim to be the site's gateway; docs/external-agent.md §9).
//
// Why not nats.go/micro: the micro package in Debian's golang-github-nats-io-go-nats-dev 1.22
// predates the v1 service protocol (no `type`, `metadata` or `endpoints` in its answers), so
// current clients could not read the metadata; these three answers are all this agent needs.

import (
	"encoding/json"
	"time"

	"github.com/nats-io/nats.go"
)

type service struct {
	subs []*nats.Subscription
}

func (s *service) stop() {
	for _, sub := range s.subs {
		_ = sub.Unsubscribe()
	}
}

func startService(nc *nats.Conn, name string, c config) (*service, error) {
	id := newID()
	started := time.Now().UTC().Format(time.RFC3339Nano)
	meta := map[string]string{"site": c.site, "publishes": joinTypes(publishes), "consumes": "", "kind": "caco-outside-agent"}
	ident := func(kind string) map[string]interface{} {
		return map[string]interface{}{"type": "io.nats.micro.v1." + kind + "_response", "name": name, "id": id, "version": c.version, "metadata": meta}
	}
	answers := map[string]func() map[string]interface{}{
		"PING": func() map[string]interface{} { return ident("ping") },
		"INFO": func() map[string]interface{} {
			m := ident("info")
			m["description"] = "on-site battery operator (CACO outside agent, Go): reports its state and offers energy to the site"
			m["endpoints"] = []interface{}{}
			return m
		},
		"STATS": func() map[string]interface{} {
			m := ident("stats")
			m["started"] = started
			m["endpoints"] = []interface{}{}
			return m
		},
	}
	svc := &service{}
	for verb, answer := range answers {
		answer := answer
		for _, subject := range []string{"$SRV." + verb + "." + name, "$SRV." + verb + "." + name + "." + id} {
			sub, err := nc.Subscribe(subject, func(m *nats.Msg) {
				b, _ := json.Marshal(answer())
				_ = m.Respond(b)
			})
			if err != nil {
				svc.stop()
				return nil, err
			}
			svc.subs = append(svc.subs, sub)
		}
	}
	if err := nc.Flush(); err != nil {
		svc.stop()
		return nil, err
	}
	logLine(map[string]interface{}{"event": "service", "name": name, "id": id})
	return svc, nil
}
