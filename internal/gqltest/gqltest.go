// Package gqltest is a GraphQL client for tests: requests over HTTP (or
// straight into a handler) and subscriptions over graphql-transport-ws
// (and the legacy graphql-ws), decoding answers as a client sees them.
package gqltest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
)

// Response is a GraphQL response and its HTTP status.
type Response struct {
	Data   json.RawMessage `json:"data"`
	Errors []Error         `json:"errors"`
	Status int             `json:"-"`
}

// Error is one GraphQL error.
type Error struct {
	Message    string         `json:"message"`
	Path       []any          `json:"path"`
	Extensions map[string]any `json:"extensions"`
}

// Code returns extensions.code of the first error, or "" when there is none.
func (r Response) Code() string {
	if len(r.Errors) == 0 {
		return ""
	}
	c, _ := r.Errors[0].Extensions["code"].(string)
	return c
}

// Decode reads a response body; it fails the test if the body is not JSON.
func Decode(tb testing.TB, status int, body io.Reader) Response {
	tb.Helper()
	raw, _ := io.ReadAll(body)
	var r Response
	if err := json.Unmarshal(raw, &r); err != nil {
		tb.Fatalf("response is not JSON (HTTP %d): %s", status, raw)
	}
	r.Status = status
	return r
}

// Request builds a POST of query and vars to url as token's caller ("" for none).
func Request(query string, vars map[string]any, url, token string) *http.Request {
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req := httptest.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	req.RequestURI = ""
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return req
}

// Serve sends a request straight into a handler, in process.
func Serve(tb testing.TB, h http.Handler, token, query string, vars map[string]any) Response {
	tb.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, Request(query, vars, "/graphql", token))
	return Decode(tb, rec.Code, rec.Body)
}

// Post sends a request to a server's GraphQL endpoint url over HTTP.
func Post(tb testing.TB, url, token, query string, vars map[string]any) Response {
	tb.Helper()
	resp, err := http.DefaultClient.Do(Request(query, vars, url, token))
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	return Decode(tb, resp.StatusCode, resp.Body)
}

// MustPost is Post that fails the test on an error or a status other than
// 200, and decodes data into out (when not nil).
func MustPost(tb testing.TB, url, token, query string, vars map[string]any, out any) {
	tb.Helper()
	r := Post(tb, url, token, query, vars)
	if len(r.Errors) > 0 || r.Status != http.StatusOK {
		tb.Fatalf("HTTP %d, errors %+v\nquery: %s", r.Status, r.Errors, query)
	}
	if out != nil {
		if err := json.Unmarshal(r.Data, out); err != nil {
			tb.Fatal(err)
		}
	}
}

// Message is a graphql-transport-ws (or graphql-ws) message.
type Message struct {
	ID      string          `json:"id,omitempty"`
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

// WS is a websocket client of a GraphQL server.
type WS struct {
	tb   testing.TB
	Conn *websocket.Conn
	ctx  context.Context
}

// DialWS opens a websocket to a GraphQL endpoint (http:// or ws:// URL)
// speaking protocol; it is closed when the test ends. Reads and writes give
// up after 20 s.
func DialWS(tb testing.TB, url, protocol string) *WS {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	tb.Cleanup(cancel)
	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(url, "http"), &websocket.DialOptions{Subprotocols: []string{protocol}})
	if err != nil {
		tb.Fatalf("dial %s: %v", url, err)
	}
	tb.Cleanup(func() { conn.CloseNow() })
	return &WS{tb: tb, Conn: conn, ctx: ctx}
}

// Send writes a message.
func (c *WS) Send(m Message) {
	c.tb.Helper()
	if err := wsjson.Write(c.ctx, c.Conn, m); err != nil {
		c.tb.Fatalf("write %s: %v", m.Type, err)
	}
}

// Read returns the next message that is not a keep-alive or a ping.
func (c *WS) Read() (Message, error) {
	for {
		var m Message
		if err := wsjson.Read(c.ctx, c.Conn, &m); err != nil {
			return m, err
		}
		if m.Type != "ka" && m.Type != "ping" && m.Type != "pong" {
			return m, nil
		}
	}
}

// MustRead reads the next message and fails the test unless it has wantType.
func (c *WS) MustRead(wantType string) Message {
	c.tb.Helper()
	m, err := c.Read()
	if err != nil {
		c.tb.Fatalf("read (want %s): %v", wantType, err)
	}
	if m.Type != wantType {
		c.tb.Fatalf("got message %s %s; want %s", m.Type, m.Payload, wantType)
	}
	return m
}

// Init sends connection_init with the token and waits for the ack.
func (c *WS) Init(token string) {
	c.tb.Helper()
	payload, _ := json.Marshal(map[string]string{"Authorization": "Bearer " + token})
	c.Send(Message{Type: "connection_init", Payload: payload})
	c.MustRead("connection_ack")
}

// Subscribe starts a subscription (graphql-transport-ws) under id.
func (c *WS) Subscribe(id, query string, vars map[string]any) {
	c.tb.Helper()
	payload, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	c.Send(Message{ID: id, Type: "subscribe", Payload: payload})
}

// NextEvent reads the next "next" message and decodes its data's field.
func (c *WS) NextEvent(field string) map[string]any {
	c.tb.Helper()
	m := c.MustRead("next")
	var p struct {
		Data   map[string]map[string]any `json:"data"`
		Errors []Error                   `json:"errors"`
	}
	if err := json.Unmarshal(m.Payload, &p); err != nil || len(p.Errors) > 0 {
		c.tb.Fatalf("next payload %s: %v", m.Payload, err)
	}
	return p.Data[field]
}
