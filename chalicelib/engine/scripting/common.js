  const name = (n) => {
    if (typeof n !== "string") throw new TypeError("variable name must be a string");
    return n;
  };
  const text = (v) => {
    if (typeof v === "string") return v;
    try { const j = JSON.stringify(v); return j === undefined ? String(v) : j; }
    catch (e) { return String(v); }
  };
  // A string handed back to Python: the binding cannot convert QuickJS's rope strings (long
  // concatenations; "Unknown quickjs tag: -6"), and slice(0) returns a flat one (the same
  // string when it is flat already).
  const flat = (s) => s.slice(0);
