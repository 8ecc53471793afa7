// A WebSocket that reconnects with exponential backoff and reports its state.
//
// States: "connecting" (first try), "open", "reconnecting" (waiting for the next try),
// "unavailable" (never opened after several tries: the endpoint is probably absent on this
// server; it keeps trying slowly), "unauthorized" (closed with 4401: signed out),
// "rejected" (closed with 4400: a bad request, retrying would not help), "closed" (stopped).

const CLOSE_UNAUTHENTICATED = 4401;
const CLOSE_BAD_REQUEST = 4400;
// A connection that lasted this long was healthy: the next retry starts from the shortest
// delay again. One that dropped sooner keeps backing off (a server that accepts, then fails).
const STABLE_MS = 5000;

/**
 * The delay before reconnect number `attempt` (0-based): min * 2^attempt, capped at max,
 * with "equal jitter" (half fixed, half random) so many tabs do not reconnect in lockstep.
 */
export function backoffDelay(attempt, { min = 500, max = 30000, random = Math.random } = {}) {
  const ceiling = Math.min(max, min * 2 ** Math.max(0, attempt));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/** ws(s)://this-host + path: the page's own origin, never anything else. */
export function socketUrl(path) {
  const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${window.location.host}${path}`;
}

export class ReconnectingSocket {
  /**
   * @param {string} path  e.g. "/api/v1/config/watch?environment=default"
   * @param {object} options  name (for the status indicator), onMessage(json), onOpen(),
   *   onState(state), minDelay, maxDelay (ms), unavailableAfter (failed tries)
   */
  constructor(path, { name = path, onMessage, onOpen, onState, minDelay = 500, maxDelay = 30000, unavailableAfter = 3 } = {}) {
    this.path = path;
    this.name = name;
    this.onMessage = onMessage ?? (() => {});
    this.onOpen = onOpen ?? (() => {});
    this.onState = onState ?? (() => {});
    this.minDelay = minDelay;
    this.maxDelay = maxDelay;
    this.unavailableAfter = unavailableAfter;
    this.state = "closed";
    this.attempt = 0;
    this.everOpened = false;
    this.socket = null;
    this.openedAt = 0;
    this.timer = null;
    this.stopped = true;
    this.onVisible = () => {
      // A tab coming back from the background should not wait out a long backoff.
      if (!document.hidden && this.timer && !this.stopped) this.reconnectNow();
    };
  }

  /** Start connecting (again, if stopped). */
  start() {
    if (!this.stopped) return this;
    this.stopped = false;
    document.addEventListener("visibilitychange", this.onVisible);
    this.connect();
    return this;
  }

  /** Close for good (until start() is called again). */
  stop() {
    this.stopped = true;
    document.removeEventListener("visibilitychange", this.onVisible);
    clearTimeout(this.timer);
    this.timer = null;
    this.dropSocket();
    this.setState("closed");
  }

  /** Point at another path (e.g. another symbol) and reconnect at once. */
  setPath(path) {
    this.path = path;
    this.everOpened = false;
    this.attempt = 0;
    if (!this.stopped) this.reconnectNow();
  }

  /**
   * Send a JSON message on the open connection. False when not connected: the caller sends
   * its subscriptions again from onOpen, which runs on every (re)connection.
   */
  send(message) {
    if (!this.socket || this.socket.readyState !== WebSocket.OPEN) return false;
    this.socket.send(JSON.stringify(message));
    return true;
  }

  reconnectNow() {
    clearTimeout(this.timer);
    this.timer = null;
    this.attempt = 0;
    this.dropSocket();
    this.connect();
  }

  dropSocket() {
    if (!this.socket) return;
    const socket = this.socket;
    this.socket = null;
    socket.onopen = socket.onmessage = socket.onclose = socket.onerror = null;
    try { socket.close(1000); } catch { /* already closed */ }
  }

  connect() {
    if (this.stopped) return;
    this.setState(this.everOpened || this.attempt > 0 ? this.retryState() : "connecting");
    let socket;
    try {
      socket = new WebSocket(socketUrl(this.path));
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.socket = socket;
    socket.onopen = () => {
      this.openedAt = Date.now();
      this.everOpened = true;
      this.setState("open");
      this.onOpen();
    };
    socket.onmessage = (event) => {
      let message;
      try { message = JSON.parse(event.data); } catch { return; }
      this.onMessage(message);
    };
    socket.onclose = (event) => {
      if (this.socket !== socket) return;
      this.socket = null;
      if (this.openedAt && Date.now() - this.openedAt >= STABLE_MS) this.attempt = 0;
      this.openedAt = 0;
      if (event.code === CLOSE_UNAUTHENTICATED) {
        this.setState("unauthorized");
        document.dispatchEvent(new CustomEvent("dsta:unauthenticated", { detail: this.name }));
        return;
      }
      if (event.code === CLOSE_BAD_REQUEST) {
        this.setState("rejected");
        return;
      }
      this.scheduleReconnect();
    };
  }

  retryState() {
    return !this.everOpened && this.attempt >= this.unavailableAfter ? "unavailable" : "reconnecting";
  }

  scheduleReconnect() {
    if (this.stopped) return;
    const delay = backoffDelay(this.attempt, { min: this.minDelay, max: this.maxDelay });
    this.attempt += 1;
    this.setState(this.retryState());
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.connect();
    }, delay);
  }

  setState(state) {
    if (state === this.state) return;
    this.state = state;
    this.onState(state);
  }
}
