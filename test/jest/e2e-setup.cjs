// Runs in every e2e test file's context before its tests.
const undici = require('undici');

// Requests through the whole system and extra processes started by a test take far beyond Jest's 5 s
// (the project-level testTimeout option is ignored by Jest, hence here).
jest.setTimeout(120_000);

// Node's built-in fetch lives outside the test file's realm: the objects `response.json()` builds
// have another Object.prototype, and node:assert's strict deepEqual tells them from literals.
// undici loaded here builds them in the test's realm.
Object.assign(globalThis, { fetch: undici.fetch, Headers: undici.Headers, Request: undici.Request, Response: undici.Response, FormData: undici.FormData });
