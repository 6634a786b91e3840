// The live feed: what changed, never what was said. Reconnects by itself after a lost
// connection and says so; a page that was away refetches everything it shows.

const RETRY_MS = [500, 1000, 2000, 5000, 10000];

export class Live {
  constructor({ token, onEvent, onState, onEnded }) {
    Object.assign(this, { token, onEvent, onState, onEnded });
    this.attempt = 0;
    this.closed = false;
  }

  start() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${location.host}/api/v1/live`);
    this.socket = socket;
    socket.addEventListener("open", () => socket.send(JSON.stringify({ type: "auth",
      token: this.token })));
    socket.addEventListener("message", (message) => this.receive(message.data));
    socket.addEventListener("close", () => this.lost());
  }

  receive(data) {
    let event;
    try {
      event = JSON.parse(data);
    } catch {
      return;
    }
    if (event.type === "hello") {
      const wasLost = this.attempt > 0;
      this.attempt = 0;
      this.onState(wasLost ? "reconnected" : "connected");
    } else if (event.type === "ended") {
      this.closed = true;
      this.onEnded();
    } else {
      this.onEvent(event);
    }
  }

  lost() {
    if (this.closed) return;
    this.onState("lost");
    const delay = RETRY_MS[Math.min(this.attempt, RETRY_MS.length - 1)];
    this.attempt += 1;
    this.timer = setTimeout(() => this.start(), delay);
  }

  stop() {
    this.closed = true;
    clearTimeout(this.timer);
    this.socket?.close();
  }
}
