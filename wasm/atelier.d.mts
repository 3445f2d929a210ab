// TypeScript looks for the declarations of atelier.mjs here; they live in
// atelier.d.ts.
export * from "./atelier.js";
