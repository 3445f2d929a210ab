// Two pages (the app and the README's quick start); es2022 for the quick
// start's top-level await, as an app that uses it sets.
export default {
  logLevel: "warn",
  build: {
    target: "es2022",
    rollupOptions: { input: ["index.html", "quickstart.html"] },
  },
};
