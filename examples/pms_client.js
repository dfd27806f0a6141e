// A minimal practice-management client for claimbridge in JavaScript: make one HealthPoint claim.
//
// Usage (Node 20 needs the flag; Node 22+ and browsers have WebSocket built in):
//   node --experimental-websocket examples/pms_client.js [url] [token-file] [terminal] [request-id]
//
// WebSocket clients in browsers cannot set an Authorization header, so the token travels as a
// subprotocol, "bearer.<token>", beside "claimbridge.v1". The script prints each status line,
// answers the patient's question with ACCEPT and prints the finished Job as one JSON line.
// No npm packages are needed. The types come from docs/claimbridge.d.ts (generated from
// rpc.discover) through JSDoc, so an editor or `tsc --checkJs` knows every field's shape.
"use strict";

/** @typedef {import("../docs/claimbridge").Job} Job */
/** @typedef {import("../docs/claimbridge").ClaimOutcome} ClaimOutcome */
/** @typedef {import("../docs/claimbridge").Methods} Methods */
/** @typedef {import("../docs/claimbridge").Notifications} Notifications */
/** @typedef {import("../docs/claimbridge").RpcError} RpcError */

const fs = require("node:fs");

const url = process.argv[2] || "ws://127.0.0.1:8765/v1";
const tokenFile = process.argv[3] || "var/token";
const terminal = process.argv[4] || "front-desk";
const requestId = process.argv[5] || "example-js-1";

function main() {
  const token = fs.readFileSync(tokenFile, "utf8").trim();
  const ws = new WebSocket(url, ["claimbridge.v1", `bearer.${token}`]);
  let nextId = 1;
  const claimId = nextId++;
  /**
   * @template {keyof Methods} M
   * @param {number} id
   * @param {M} method
   * @param {Methods[M]["params"]} params
   */
  const send = (id, method, params) => ws.send(JSON.stringify({ jsonrpc: "2.0", id, method, params }));

  ws.addEventListener("open", () => {
    /** @type {Methods["healthpoint.claim"]["params"]} */
    const claim = {
      requestId,
      terminal,
      providerId: "2159081W",
      serviceType: "P",
      onApproved: "ask",
      items: [
        { claimAmount: 10000, serviceCode: "500", description: "Assessment Consult",
          patientId: "02", serviceDate: "2026-11-23" },
      ],
    };
    send(claimId, "healthpoint.claim", claim);
  });

  ws.addEventListener("message", (event) => {
    const message = JSON.parse(String(event.data));
    if (message.method === "job.status") {
      /** @type {Notifications["job.status"]} */
      const status = message.params;
      console.error(`terminal: ${status.message}`);
    } else if (message.method === "job.question") {
      /** @type {Notifications["job.question"]} */
      const question = message.params;
      console.error(`question: ${question.text} -> ACCEPT`);
      send(nextId++, "job.answer", { jobId: question.jobId, answer: "ACCEPT" });
    } else if (message.id === claimId) {
      if (message.error) {
        /** @type {RpcError} */
        const error = message.error;
        console.error(`claim refused: ${error.code} ${error.message} ${JSON.stringify(error.data ?? "")}`);
        process.exitCode = 1;
      } else {
        /** @type {Job} */
        const job = message.result;
        if (job.kind === "claim" && job.result) {
          /** @type {ClaimOutcome} */
          const outcome = job.result;
          console.error(`claim ${outcome.result}: benefit ${outcome.totalBenefit} cents, gap ${outcome.gap} cents`);
        }
        console.log(JSON.stringify(job));
        process.exitCode = job.state === "completed" ? 0 : 1;
      }
      ws.close();
    }
  });

  ws.addEventListener("error", () => {
    console.error(`cannot talk to ${url}`);
    process.exitCode = 1;
  });
}

main();
