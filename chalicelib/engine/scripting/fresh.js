// The prelude of a fresh context: runs before the script (no time limit yet). Sets up
// `execution`, `console`, the variable globals, a runner (__wf_run: the script as global
// code through an indirect eval, its value kept here; used when the script's value is a
// string the binding cannot convert) and the read-back function (__wf_collect); returns
// the JSON list of names bound as globals. Reads its input from globalThis.__wf_input.
// Strings handed back to Python are flat (`flat`, see common.js).
// The marker below is replaced by common.js (helpers both preludes use).
(function () {
  "use strict";
  const input = JSON.parse(globalThis.__wf_input);
  delete globalThis.__wf_input;
  const vars = input.variables, meta = input.meta, limits = input.limits;
  const own = (o, k) => Object.prototype.hasOwnProperty.call(o, k);
  const changed = Object.create(null), local = Object.create(null);
  const removed = Object.create(null), originals = Object.create(null);
  const logs = [];
  const indirectEval = eval;
  let dropped = 0, result;
/*@common*/
  const logger = (level) => (...args) => {
    if (logs.length >= limits.lines) { dropped += 1; return; }
    let line = args.map(text).join(" ");
    if (line.length > limits.lineLength) line = line.slice(0, limits.lineLength) + "...";
    logs.push([level, line]);
  };
  const get = (n) => { n = name(n); return own(vars, n) ? vars[n] : null; };
  const has = (n) => own(vars, name(n));
  const set = (marks) => (n, v) => {
    n = name(n); vars[n] = v; marks[n] = true; delete removed[n];
  };
  const execution = Object.freeze({
    getVariable: get, getVariableLocal: get, hasVariable: has, hasVariableLocal: has,
    getVariables: () => Object.assign({}, vars),
    setVariable: set(changed), setVariableLocal: set(local),
    removeVariable: (n) => {
      n = name(n); delete vars[n]; delete changed[n]; delete local[n]; removed[n] = true;
    },
    getProcessInstanceId: () => meta.processInstanceId,
    getId: () => meta.executionId,
    getCurrentActivityId: () => meta.activityId,
    getProcessBusinessKey: () => meta.businessKey,
    getProcessInstanceBusinessKey: () => meta.businessKey,
  });
  const fixed = (key, value) => Object.defineProperty(globalThis, key,
    {value: value, writable: false, enumerable: false, configurable: false});
  fixed("execution", execution);
  fixed("console", Object.freeze(Object.fromEntries(
    ["log", "info", "debug", "warn", "error"].map((level) => [level, logger(level)]))));
  const bound = [];
  for (const n of input.globals) {
    if (n in globalThis) continue;
    globalThis[n] = vars[n];
    originals[n] = JSON.stringify(vars[n]);
    bound.push(n);
  }
  const json = (what, v) => {
    try {
      const j = JSON.stringify(v, (k, x) => (typeof x === "bigint" ? Number(x) : x));
      return j === undefined ? "null" : j;
    } catch (e) {
      throw new TypeError(what + " cannot be converted to JSON: " + e.message);
    }
  };
  const entries = (marks) => "{" + Object.keys(marks).map((n) =>
    JSON.stringify(n) + ":" + json("variable '" + n + "'", vars[n])).join(",") + "}";
  fixed("__wf_console", () => flat(JSON.stringify({console: logs, dropped: dropped})));
  fixed("__wf_run", (source) => { result = indirectEval(source); });
  fixed("__wf_collect", (globalsNow, withResult, kept, value) => {
    const stored = [];
    if (globalsNow) {
      for (const n of bound) {
        if (own(changed, n) || own(removed, n) || globalsNow[n] === undefined) continue;
        const now = json("variable '" + n + "'", globalsNow[n]);
        if (now !== originals[n]) stored.push(JSON.stringify(n) + ":" + now);
      }
    }
    return flat("{\"changed\":" + entries(changed) + ",\"local\":" + entries(local) +
      ",\"autoStored\":{" + stored.join(",") + "},\"removed\":" +
      JSON.stringify(Object.keys(removed)) + ",\"console\":" + JSON.stringify(logs) +
      ",\"dropped\":" + dropped + ",\"result\":" +
      json("the script result", !withResult ? undefined : kept ? result : value) + "}");
  });
  return JSON.stringify(bound);
})()
