/**
 * Guest-side code evaluated in every sandbox before the agent bundle. It evaluates to
 * `install(hostCall, hostLog, configJson)`, which pins the deterministic clock and randomness and
 * returns `run(inputBuffer)`. The host functions are only reachable through the frozen `ctx` it
 * builds, and only strings cross the boundary (JSON in, JSON out), so the host never touches a
 * guest object an agent could have shaped. `run` never rejects: it resolves to a null-prototype
 * record the agent never sees, describing the output or the error.
 */
export const PRELUDE_SOURCE = String.raw`(function install(hostCall, hostLog, configJson) {
  "use strict";
  const parse = JSON.parse, stringify = JSON.stringify, freeze = Object.freeze, create = Object.create;
  const defineProperty = Object.defineProperty, isView = ArrayBuffer.isView, StringCtor = String;
  const cfg = parse(configJson);
  const NOW = cfg.now;

  // Deterministic PRNG (sfc32) seeded by the host from the request hash.
  let [a, b, c, d] = cfg.seed;
  function nextUint32() {
    a >>>= 0; b >>>= 0; c >>>= 0; d >>>= 0;
    const t = (a + b) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    d = (d + 1) | 0;
    const r = (t + d) | 0;
    c = (c + r) | 0;
    return r >>> 0;
  }
  const random = () => nextUint32() / 4294967296;
  Math.random = random;

  const RealDate = Date;
  function FixedDate(...args) {
    if (new.target === undefined) return new RealDate(NOW).toString();
    return args.length === 0 ? new RealDate(NOW) : new RealDate(...args);
  }
  FixedDate.prototype = RealDate.prototype;
  FixedDate.now = () => NOW;
  FixedDate.UTC = RealDate.UTC;
  FixedDate.parse = RealDate.parse;
  defineProperty(RealDate.prototype, "constructor", { value: FixedDate, writable: true, configurable: true });
  globalThis.Date = FixedDate;

  const HEX = "0123456789abcdef";
  function bytesToHex(bytes) {
    let out = "";
    for (let i = 0; i < bytes.length; i++) out += HEX[bytes[i] >> 4] + HEX[bytes[i] & 15];
    return out;
  }
  function hexToBytes(hex) {
    const out = new Uint8Array(hex.length >> 1);
    for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.substr(i * 2, 2), 16);
    return out;
  }
  function toBytes(value) {
    if (value instanceof ArrayBuffer) return new Uint8Array(value);
    if (isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
    return undefined;
  }

  // Host failures become errors the agent may catch; the token lets the host recognise its own
  // errors if they end the run, so an agent cannot fake a host status.
  function call(op, args) {
    return hostCall(op, stringify(args)).then((json) => {
      const reply = parse(json);
      if (reply.ok) return reply.value;
      const error = new Error(reply.message);
      error.name = "HostCallError";
      error.code = reply.code;
      defineProperty(error, "hostToken", { value: reply.token });
      throw error;
    });
  }

  function payloadOf(input) {
    if (typeof input === "string") return { text: input };
    const bytes = toBytes(input);
    if (bytes !== undefined) return { hex: bytesToHex(bytes) };
    return { text: stringify(input === undefined ? null : input) };
  }

  function makeResponse(reply) {
    return freeze({
      url: reply.url,
      status: reply.status,
      ok: reply.status >= 200 && reply.status < 300,
      headers: freeze(reply.headers),
      text: async () => reply.body,
      json: async () => parse(reply.body),
    });
  }

  function format(value) {
    if (typeof value === "string") return value;
    try { return stringify(value); } catch (e) { return StringCtor(value); }
  }

  const inputText = cfg.inputText;
  const ctxFields = {
    agentId: cfg.agentId,
    request: freeze(cfg.request),
    secrets: freeze(cfg.secrets),
    now: () => NOW,
    random,
    randomBytes(n) {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) out[i] = nextUint32() & 255;
      return out;
    },
    log: (...args) => { hostLog(args.map(format).join(" ")); },
    fetch: (url, init) => {
      const options = init || {};
      return call("fetch", {
        url: StringCtor(url),
        method: options.method === undefined ? "GET" : StringCtor(options.method),
        headers: options.headers || {},
        body: options.body === undefined ? undefined : StringCtor(options.body),
      }).then(makeResponse);
    },
    llm: freeze({ chat: (request) => call("llm.chat", request) }),
    callAgent: (agentId, input) =>
      call("callAgent", { agentId: StringCtor(agentId), input: payloadOf(input) }).then((reply) =>
        freeze({ text: reply.text, bytes: hexToBytes(reply.hex), json: () => parse(reply.text) })),
  };

  function describe(value) {
    try { return value === undefined ? "undefined" : StringCtor(value); } catch (e) { return "(unprintable)"; }
  }

  function failure(kind, e) {
    const result = create(null);
    result.kind = kind;
    let token, name = "Error", message = "(unprintable)";
    try { token = e !== null && typeof e === "object" ? e.hostToken : undefined; } catch (x) {}
    try { name = e !== null && typeof e === "object" ? describe(e.name) : "Error"; } catch (x) {}
    try { message = e !== null && typeof e === "object" ? describe(e.message) : describe(e); } catch (x) {}
    result.token = typeof token === "string" ? token : "";
    result.name = name;
    result.message = message;
    return result;
  }

  function outputRecord(out) {
    const result = create(null);
    const bytes = toBytes(out);
    if (bytes !== undefined) {
      result.kind = bytes.byteLength > cfg.maxOutputBytes ? "too-large" : "bytes";
      if (result.kind === "bytes") result.bytes = bytes.slice().buffer;
      return result;
    }
    let text;
    if (typeof out === "string") text = out;
    else if (out === undefined) text = "";
    else {
      try { text = stringify(out); } catch (e) { return failure("unserializable", e); }
      if (typeof text !== "string") text = "";
    }
    // UTF-16 length never exceeds the UTF-8 byte length: longer is over the limit for sure.
    result.kind = text.length > cfg.maxOutputBytes ? "too-large" : "text";
    if (result.kind === "text") result.text = text;
    return result;
  }

  return async function run(source, inputBuffer) {
    try {
      (0, eval)(source);
    } catch (e) {
      return failure("invalid", e);
    }
    let entry;
    try {
      const agent = globalThis.__agent;
      entry = typeof agent === "function" ? agent : agent && typeof agent.default === "function" ? agent.default : undefined;
    } catch (e) {}
    if (entry === undefined) {
      const result = create(null);
      result.kind = "no-entry";
      return result;
    }
    let out;
    try {
      out = await entry(inputText, freeze({ ...ctxFields, inputBytes: new Uint8Array(inputBuffer) }));
    } catch (e) {
      return failure("error", e);
    }
    try {
      return outputRecord(out);
    } catch (e) {
      return failure("error", e);
    }
  };
})`;
