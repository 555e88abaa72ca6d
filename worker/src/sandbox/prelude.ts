/**
 * Guest-side code evaluated in every sandbox before the agent bundle. It evaluates to
 * `install(hostCall, hostLog, configJson, apiSource, randomSource)`, which pins the deterministic
 * clock and randomness and returns `run(source, inputBuffer)`. The host functions are only reachable through
 * the frozen `ctx` it builds, and only strings cross the boundary (JSON in, JSON out), so the host
 * never touches a guest object an agent could have shaped. `run` resolves to a null-prototype
 * record the agent never sees, describing the output or the error; it rejects only with an engine
 * error (heap exhausted, interrupted) raised while compiling a lazy part.
 *
 * QuickJS compiles eagerly, at ~0.1-0.25 µs per token, and compiling was most of a trivial run's
 * cost, so this core holds only what a successful run needs. Host calls and error records
 * (HOST_API_SOURCE) and the PRNG (RANDOM_SOURCE) are compiled inside the run on first use: an
 * agent that never calls them never pays for them.
 */
export const PRELUDE_SOURCE = String.raw`(function install(hostCall, hostLog, configJson, apiSource, randomSource) {
  "use strict";
  const parse = JSON.parse, stringify = JSON.stringify, freeze = Object.freeze, create = Object.create;
  const isView = ArrayBuffer.isView, StringCtor = String, indirectEval = eval, RealDate = Date, defineProperty = Object.defineProperty;
  const cfg = parse(configJson), NOW = cfg.now, maxOutputBytes = cfg.maxOutputBytes;

  // Randomness (RANDOM_SOURCE), host calls and error records (HOST_API_SOURCE) are compiled on
  // first use.
  let rng, api;
  const lazyRandom = () => rng || (rng = indirectEval(randomSource)(cfg.seed));
  const lazy = () => api || (api = indirectEval(apiSource)(hostCall, { toBytes, record, parse, stringify, freeze, defineProperty, StringCtor }));
  const stub = (load, name) => (...args) => load()[name](...args);
  const random = stub(lazyRandom, "random");
  Math.random = random;

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

  function format(value) {
    if (typeof value === "string") return value;
    try { return stringify(value); } catch (e) { return StringCtor(value); }
  }
  function toBytes(value) {
    if (value instanceof ArrayBuffer) return new Uint8Array(value);
    if (isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
    return undefined;
  }

  const ctxFields = {
    agentId: cfg.agentId,
    request: freeze(cfg.request),
    secrets: freeze(cfg.secrets),
    now: FixedDate.now,
    random,
    randomBytes: stub(lazyRandom, "randomBytes"),
    // Most agents log, so logging stays in the core.
    log: (...args) => { hostLog(args.map(format).join(" ")); },
    fetch: stub(lazy, "fetch"),
    llm: freeze({ chat: stub(lazy, "chat") }),
    callAgent: stub(lazy, "callAgent"),
    openForwardedInput: stub(lazy, "openForwardedInput"),
  };

  function record(kind, key, value) {
    const result = create(null);
    result.kind = kind;
    if (key !== undefined) result[key] = value;
    return result;
  }
  // Error records are built by the lazily compiled part too. Compiling it can only fail with an
  // engine error (heap exhausted, interrupted); run() then rejects with that error, which the host
  // maps to its limit without reading anything the agent shaped.
  const failure = (kind, e) => lazy().failure(kind, e);

  function outputRecord(out) {
    const bytes = toBytes(out);
    if (bytes !== undefined) return bytes.byteLength > maxOutputBytes ? record("too-large") : record("bytes", "bytes", bytes.slice().buffer);
    let text = out;
    if (typeof out !== "string") {
      try { text = out === undefined ? "" : stringify(out); } catch (e) { return failure("unserializable", e); }
      if (typeof text !== "string") text = "";
    }
    // UTF-16 length never exceeds the UTF-8 byte length: longer is over the limit for sure.
    return text.length > maxOutputBytes ? record("too-large") : record("text", "text", text);
  }

  return async function run(source, inputBuffer) {
    try {
      indirectEval(source);
    } catch (e) {
      return failure("invalid", e);
    }
    let entry;
    try {
      const agent = globalThis.__agent;
      entry = typeof agent === "function" ? agent : agent && typeof agent.default === "function" ? agent.default : undefined;
    } catch (e) {}
    if (entry === undefined) return record("no-entry");
    try {
      return outputRecord(await entry(cfg.inputText, freeze({ ...ctxFields, inputBytes: new Uint8Array(inputBuffer) })));
    } catch (e) {
      return failure("error", e);
    }
  };
})`;

/**
 * Host-call plumbing and error records, evaluated (with the indirect eval the prelude
 * captured before the bundle ran) the first time a run needs one of them, with the primordials the
 * prelude captured; it returns the functions behind the prelude's stubs. Host failures become
 * errors the agent may catch; their token lets the host recognise its own errors if they end the
 * run, so an agent cannot fake a host status.
 */
export const HOST_API_SOURCE = String.raw`(function hostApi(hostCall, primordials) {
  "use strict";
  const { toBytes, record, parse, stringify, freeze, defineProperty, StringCtor } = primordials;
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
      statusText: reply.statusText,
      ok: reply.status >= 200 && reply.status < 300,
      headers: freeze(reply.headers),
      text: async () => reply.body,
      json: async () => parse(reply.body),
    });
  }
  function describe(value) {
    try { return value === undefined ? "undefined" : StringCtor(value); } catch (e) { return "(unprintable)"; }
  }
  return {
    failure(kind, e) {
      const result = record(kind), isObject = e !== null && typeof e === "object";
      let token, name = "Error", message = "(unprintable)";
      try { token = isObject ? e.hostToken : undefined; } catch (x) {}
      try { name = isObject ? describe(e.name) : "Error"; } catch (x) {}
      try { message = isObject ? describe(e.message) : describe(e); } catch (x) {}
      result.token = typeof token === "string" ? token : "";
      result.name = name;
      result.message = message;
      return result;
    },
    fetch(url, init) {
      const options = init || {};
      return call("fetch", {
        url: StringCtor(url),
        method: options.method === undefined ? "GET" : StringCtor(options.method),
        headers: options.headers || {},
        body: options.body === undefined ? undefined : StringCtor(options.body),
        timeoutMs: options.timeoutMs,
      }).then(makeResponse);
    },
    chat: (request) => call("llm.chat", request),
    callAgent: (agentId, input) =>
      call("callAgent", { agentId: StringCtor(agentId), input: payloadOf(input) }).then((reply) =>
        freeze({ text: reply.text, bytes: hexToBytes(reply.hex), json: () => parse(reply.text) })),
    openForwardedInput(sealed, client) {
      const bytes = toBytes(sealed);
      return call("openForwardedInput", { hex: bytes === undefined ? "not bytes" : bytesToHex(bytes), client: StringCtor(client) })
        .then((reply) => hexToBytes(reply.hex));
    },
  };
})`;

/** The deterministic PRNG behind Math.random, ctx.random and ctx.randomBytes, compiled on first use. */
export const RANDOM_SOURCE = String.raw`(function random(seed) {
  "use strict";
  // Deterministic PRNG (sfc32) seeded by the host from the request hash.
  let a = seed[0], b = seed[1], c = seed[2], d = seed[3];
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
  return {
    random: () => nextUint32() / 4294967296,
    randomBytes(n) {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) out[i] = nextUint32() & 255;
      return out;
    },
  };
})`;
