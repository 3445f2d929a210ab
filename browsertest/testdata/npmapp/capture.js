// capture.js keeps what the page logs in globalThis.logged, for the test
// that runs the README's quick start as written, and its error if it fails.
globalThis.logged = [];
const log = console.log.bind(console);
console.log = (...args) => {
  globalThis.logged.push(args.map((a) => (typeof a === "string" ? a : JSON.stringify(a))).join(" "));
  log(...args);
};
addEventListener("error", (e) => globalThis.logged.push(`error: ${e.message}`));
addEventListener("unhandledrejection", (e) => globalThis.logged.push(`error: ${e.reason?.name}: ${e.reason?.message}`));
