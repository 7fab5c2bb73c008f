// Chromium flags shared by the browser tests (lib/harness.mjs) and bench/ui_first_rows.mjs.
// Kept apart from harness.mjs because that module requires the test environment
// (CLEW_URL, ...) when it is imported, which the bench does not set.

/** Flags for Debian's Chromium in a container: no sandbox, no GPU, no calls home. */
export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
