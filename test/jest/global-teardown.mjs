// Stops what global-setup.mjs started.
export default async function globalTeardown() {
  await globalThis.__loyaltySystem?.stop();
  delete globalThis.__loyaltySystem;
}
