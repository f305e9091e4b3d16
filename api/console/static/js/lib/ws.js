// A small graphql-transport-ws client for one subscription that survives
// reconnects: after a dropped connection it subscribes again with
// variables.after set to the id of the last event it delivered, so the
// server replays what was missed (no gap, no repeat) and then goes live.
import { websocketURL } from "./config.js";
import { token, signOut } from "./session.js";

// subscribe starts the subscription. opts:
//   query, variables         the subscription and its variables
//   after                    resume from this event id (optional)
//   cursor(data)             the event id of a delivered payload
//   onData(data)             each event
//   onStatus(status, detail) "connecting" | "live" | "reconnecting" | "error" | "closed"
// It returns a function that ends the subscription.
export function subscribe({ query, variables = {}, after = null, cursor, onData, onStatus = () => {} }) {
  let ws = null;
  let stopped = false;
  let attempt = 0;
  let timer = null;
  let last = after;

  const connect = () => {
    onStatus(attempt === 0 ? "connecting" : "reconnecting");
    ws = new WebSocket(websocketURL(), "graphql-transport-ws");
    ws.onopen = () => {
      ws.send(JSON.stringify({ type: "connection_init", payload: { Authorization: "Bearer " + token() } }));
    };
    ws.onmessage = (m) => {
      let msg;
      try {
        msg = JSON.parse(m.data);
      } catch {
        return;
      }
      switch (msg.type) {
        case "connection_ack":
          attempt = 0;
          ws.send(JSON.stringify({ id: "1", type: "subscribe", payload: { query, variables: { ...variables, after: last } } }));
          onStatus("live");
          break;
        case "ping":
          ws.send(JSON.stringify({ type: "pong" }));
          break;
        case "next":
          if (msg.payload && msg.payload.data) {
            const id = cursor(msg.payload.data);
            if (id) last = id;
            onData(msg.payload.data);
          }
          if (msg.payload && msg.payload.errors) onStatus("error", msg.payload.errors.map((e) => e.message).join(" "));
          break;
        case "error":
          onStatus("error", (msg.payload || []).map((e) => e.message).join(" "));
          break;
        case "complete":
          // The server ended the stream (shutdown, or we fell behind): resume.
          ws.close(1000);
          break;
      }
    };
    ws.onclose = (e) => {
      ws = null;
      if (stopped) return;
      if (e.code === 4403 || e.code === 4401) {
        onStatus("closed", e.reason || "The server refused the session.");
        signOut(e.reason ? e.reason.replace(/^forbidden: /, "") : "Your session has ended.");
        return;
      }
      attempt++;
      const delay = Math.min(15000, 500 * 2 ** Math.min(attempt, 5));
      onStatus("reconnecting", `Connection lost; retrying in ${Math.round(delay / 1000)} s.`);
      timer = setTimeout(connect, delay);
    };
  };
  connect();
  return () => {
    stopped = true;
    clearTimeout(timer);
    if (ws) {
      if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ id: "1", type: "complete" }));
      ws.close(1000);
    }
    onStatus("closed");
  };
}

