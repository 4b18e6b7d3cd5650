// The shared context's prelude, a function of the console limits. `execution` and `console`
// are fixed globals reading the current script's state; __wf_begin, then __wf_run (global
// code) or a runner from __wf_compile (the script compiled once as a function), then
// __wf_collect and __wf_end run one script. Before any script runs, every built-in object
// reachable from the global object is frozen and the function constructors are disabled
// (see the pool module's docs), and the prelude keeps its own references to what it uses.
// The marker below is replaced by common.js (helpers both preludes use).
(function (maxLines, maxLineLength) {
  "use strict";
  const G = globalThis;
  const O = Object, R = Reflect;
  const parse = JSON.parse, stringify = JSON.stringify, keys = O.keys, create = O.create;
  const is = O.is, freeze = O.freeze, getProto = O.getPrototypeOf, apply = R.apply;
  const describe = O.getOwnPropertyDescriptor, ownKeys = R.ownKeys;
  const hasOwn = O.prototype.hasOwnProperty, sourceOf = Function.prototype.toString;
  const own = (o, k) => apply(hasOwn, o, [k]);
  const indirectEval = eval;
  let st = null;
/*@common*/
  const logger = (level) => (...args) => {
    if (st.logs.length >= maxLines) { st.dropped += 1; return; }
    let line = args.map(text).join(" ");
    if (line.length > maxLineLength) line = line.slice(0, maxLineLength) + "...";
    st.logs.push([level, line]);
  };
  const get = (n) => { n = name(n); return own(st.vars, n) ? st.vars[n] : null; };
  const has = (n) => own(st.vars, name(n));
  const set = (which) => (n, v) => {
    n = name(n); st.vars[n] = v; st[which][n] = true; delete st.removed[n];
  };
  const execution = freeze({
    getVariable: get, getVariableLocal: get, hasVariable: has, hasVariableLocal: has,
    getVariables: () => O.assign({}, st.vars),
    setVariable: set("changed"), setVariableLocal: set("local"),
    removeVariable: (n) => {
      n = name(n); delete st.vars[n]; delete st.changed[n]; delete st.local[n];
      st.removed[n] = true;
    },
    getProcessInstanceId: () => st.meta.processInstanceId,
    getId: () => st.meta.executionId,
    getCurrentActivityId: () => st.meta.activityId,
    getProcessBusinessKey: () => st.meta.businessKey,
    getProcessInstanceBusinessKey: () => st.meta.businessKey,
  });
  const fixed = (key, value) => O.defineProperty(G, key,
    {value: value, writable: false, enumerable: false, configurable: false});
  const json = (what, v) => {
    try {
      const j = stringify(v, (k, x) => (typeof x === "bigint" ? Number(x) : x));
      return j === undefined ? "null" : j;
    } catch (e) {
      throw new TypeError(what + " cannot be converted to JSON: " + e.message);
    }
  };
  fixed("execution", execution);
  fixed("console", freeze(O.fromEntries(
    ["log", "info", "debug", "warn", "error"].map((level) => [level, logger(level)]))));
  fixed("__wf_console", () => flat(stringify({console: st.logs, dropped: st.dropped})));
  fixed("__wf_begin", (vars, names, activityId, processInstanceId, executionId, businessKey,
                       bind) => {
    st = {vars: parse(vars), meta: {activityId, processInstanceId, executionId, businessKey},
          changed: create(null), local: create(null), removed: create(null), logs: [],
          dropped: 0, bound: [], result: undefined};
    if (bind && names !== "") {
      for (const n of names.split(",")) {
        if (n in G) continue;
        G[n] = st.vars[n];
        st.bound.push(n);
      }
    }
  });
  fixed("__wf_run", (source) => { st.result = indirectEval(source); });
  // A runner calling the script compiled as a function of the bindings (null when it cannot
  // be: the caller then runs it as global code). The function's own source text must be
  // exactly the wrapper, i.e. the script's text is its whole body.
  fixed("__wf_compile", (source, names) => {
    const params = names === "" ? [] : names.split(",").filter((n) => !(n in G));
    const code = "(function (" + params.join(",") + ") {" + source + "\n})";
    let fn;
    try {
      fn = indirectEval(code);
    } catch (e) {
      return null;  // e.g. `let item` in a script binding `item`
    }
    if (typeof fn !== "function" || apply(sourceOf, fn, []) !== code.slice(1, -1)) return null;
    return () => { st.result = apply(fn, undefined, params.map((n) => st.vars[n])); };
  });
  // [changed name, value, ...], [local name, value, ...], removed, console, dropped, result
  // (as JSON; JSON.stringify costs about a microsecond an array, so plain values are written
  // here, each as `json` would: undefined, functions and symbols as null)
  const quick = (v) => {
    switch (typeof v) {
      case "number": return v - v === 0 ? "" + v : "null";  // NaN and Infinity: null
      case "boolean": return v ? "true" : "false";
      case "undefined": case "function": case "symbol": return "null";
      case "string": return stringify(v);
      default: {  // objects (toJSON), null; a BigInt throws: `json` converts it
        const j = stringify(v);
        return j === undefined ? "null" : j;
      }
    }
  };
  const pairs = (marks, exact) => {
    let out = "";
    for (const n in marks) {
      out += (out === "" ? "[" : ",") + stringify(n) + "," +
        (exact ? json("variable '" + n + "'", st.vars[n]) : quick(st.vars[n]));
    }
    return out === "" ? "[]" : out + "]";
  };
  const list = (a) => (a.length === 0 ? "[]" : stringify(a));
  const collect = (withResult, exact) =>
    "[" + pairs(st.changed, exact) + "," + pairs(st.local, exact) + "," +
    list(keys(st.removed)) + "," + list(st.logs) + "," + st.dropped + "," +
    (!withResult ? "null" : exact ? json("the script result", st.result) : quick(st.result)) +
    "]";
  fixed("__wf_collect", (withResult) => {
    try {
      return flat(collect(withResult, false));
    } catch (e) {  // a BigInt, or not JSON: the exact conversion, or its error
      return flat(collect(withResult, true));
    }
  });
  fixed("__wf_list", (words) => parse(words));
  const baseline = new Map();
  let enumerable = 0;
  const forget = (names) => {
    let clean = true;
    for (const k of names) {
      if (baseline.has(k)) {
        if (!is(G[k], baseline.get(k))) clean = false;
      } else if (k in G && !delete G[k]) {  // deleting an inherited name is a no-op
        clean = false;
      }
    }
    return clean;
  };
  fixed("__wf_end", (words) => {
    // forget the script: delete every global it made. Being poolable, it can only have made
    // or replaced globals it names (`words`, a list); false when it replaced one that was
    // there before, or when enumerable globals remain that were not there before (only an
    // assignment or a declaration makes one; the context is then thrown away)
    const bound = st === null ? [] : st.bound;
    st = null;
    const named = forget(words), boundToo = forget(bound);  // both: every one is deleted
    let count = 0;
    for (const k in G) count += 1;
    return named && boundToo && count === enumerable;
  });
  // Lock the built-ins down: no constructor compiles code from a string (the only way to
  // code that could reach the global object by a computed name), and every object reachable
  // from the global object (but the global object itself) is frozen, so that no script can
  // change what a later one (or this prelude) finds in them.
  const refuse = function () { throw new TypeError("code from strings is not allowed"); };
  for (const f of [function () {}, function* () {}, async function () {},
                   async function* () {}]) {
    O.defineProperty(getProto(f), "constructor",
                     {value: refuse, writable: false, enumerable: false, configurable: false});
  }
  const done = new Set();
  const todo = [getProto(G)];
  for (const k of ownKeys(G)) {
    const d = describe(G, k);
    todo.push(d.value, d.get, d.set);
  }
  while (todo.length > 0) {
    const o = todo.pop();
    if (o === null || o === G || (typeof o !== "object" && typeof o !== "function") ||
        done.has(o)) continue;
    done.add(o);
    freeze(o);
    todo.push(getProto(o));
    for (const k of ownKeys(o)) {
      const d = describe(o, k);
      if (d !== undefined) todo.push(d.value, d.get, d.set);
    }
  }
  for (const k of O.getOwnPropertyNames(G)) baseline.set(k, G[k]);
  for (const k in G) enumerable += 1;
})
