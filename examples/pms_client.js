// A minimal practice-management client for claimbridge in JavaScript: make one HealthPoint claim.
//
// Usage (Node 20 needs the flag; Node 22+ and browsers have WebSocket built in):
//   node --experimental-websocket examples/pms_client.js [url] [token-file] [terminal] [request-id]
//
// WebSocket clients in browsers cannot set an Authorization header, so the token travels as a
// subprotocol, "bearer.<token>", beside "claimbridge.v1". The script prints each status line,
// answers the patient's question with ACCEPT and prints the finished Job as one JSON line.
// No npm packages are needed.
"use strict";

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
  const send = (id, method, params) => ws.send(JSON.stringify({ jsonrpc: "2.0", id, method, params }));

  ws.addEventListener("open", () => {
    send(claimId, "healthpoint.claim", {
      requestId,
      terminal,
      providerId: "2159081W",
      serviceType: "P",
      onApproved: "ask",
      items: [
        { claimAmount: 10000, serviceCode: "500", description: "Assessment Consult",
          patientId: "02", serviceDate: "2026-11-23" },
      ],
    });
  });

  ws.addEventListener("message", (event) => {
    const message = JSON.parse(event.data);
    if (message.method === "job.status") {
      console.error(`terminal: ${message.params.message}`);
    } else if (message.method === "job.question") {
      console.error(`question: ${message.params.text} -> ACCEPT`);
      send(nextId++, "job.answer", { jobId: message.params.jobId, answer: "ACCEPT" });
    } else if (message.id === claimId) {
      if (message.error) {
        console.error(`claim refused: ${JSON.stringify(message.error)}`);
        process.exitCode = 1;
      } else {
        console.log(JSON.stringify(message.result));
        process.exitCode = message.result.state === "completed" ? 0 : 1;
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
