  const name = (n) => {
    if (typeof n !== "string") throw new TypeError("variable name must be a string");
    return n;
  };
  const text = (v) => {
    if (typeof v === "string") return v;
    try { const j = JSON.stringify(v); return j === undefined ? String(v) : j; }
    catch (e) { return String(v); }
  };
