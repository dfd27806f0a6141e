// claimbridge host glue: the daemon's side of the page that runs Tyro's iClient.
// The daemon loads this page with Playwright and calls window.claimbridge.init once; from then
// on it talks to the page over a loopback websocket (bridge/browser/pagelink.py): it sends commands
// (run, answer, abort, finish) and the page pushes every iClient callback back as events, in
// batches per operation. One loopback hop each way instead of Playwright's four processes.
(function () {
  "use strict";

  var client = null;
  var link = null;
  var answers = {}; // opId -> answerCallback of the pending question
  var pending = {}; // opId -> {events: [[type, payload], ...], timer: timeout id or null}

  // Events the daemon must hear at once; status lines, receipts and questions the page has
  // already answered wait a few milliseconds to travel together (on a claim answered by
  // policy, the whole claim is one message: its outcome and every line that led to it).
  var URGENT = {question: true, complete: true, pairing: true, info: true, report: true};
  var BATCH_MS = 15;

  function isUrgent(type, payload) {
    if (type === "question" && payload && payload.answered !== undefined) { return false; }
    return URGENT[type] === true;
  }

  function send(message) {
    if (link && link.readyState === WebSocket.OPEN) { link.send(JSON.stringify(message)); }
  }

  function flush(opId) {
    var p = pending[opId];
    if (!p || !p.events.length) { return; }
    if (p.timer) { clearTimeout(p.timer); p.timer = null; }
    var events = p.events.splice(0);
    // Nothing follows transactionCompleteCallback: the operation ends with its last batch.
    if (events.some(function (e) { return e[0] === "complete"; })) { delete pending[opId]; }
    send({op: opId, events: events});
  }

  function emit(opId, type, payload) {
    var p = pending[opId] || (pending[opId] = {events: [], timer: null});
    var value = payload === undefined ? null : payload;
    p.events.push([type, value]);
    if (isUrgent(type, value)) {
      flush(opId);
    } else if (!p.timer) {
      p.timer = setTimeout(function () { p.timer = null; flush(opId); }, BATCH_MS);
    }
  }

  // The answer the daemon gave in advance for this question, if any (the claim's onApproved
  // policy, "ACCEPT"/"REJECT", when offered). Every other question goes to the daemon, which
  // decides (bridge/healthpoint/operation.py): the page decides nothing itself.
  function automaticAnswer(question, autoAnswers) {
    var options = (question && question.options) || [];
    for (var i = 0; i < autoAnswers.length; i++) {
      if (options.indexOf(autoAnswers[i]) !== -1) { return autoAnswers[i]; }
    }
    return null;
  }

  function transactionCallbacks(opId, autoAnswers) {
    return {
      statusMessageCallback: function (message) { emit(opId, "status", String(message)); },
      questionCallback: function (question, answerCallback) {
        var q = {
          text: question && question.text,
          options: (question && question.options) || [],
          isError: !!(question && question.isError)
        };
        var auto = automaticAnswer(question, autoAnswers);
        if (auto !== null) {
          // Answered here, at once, as a PMS page would: no round trip through the daemon.
          q.answered = auto;
          emit(opId, "question", q);
          answerCallback(auto);
          return;
        }
        answers[opId] = answerCallback;
        emit(opId, "question", q);
      },
      receiptCallback: function (receipt) { emit(opId, "receipt", receipt); },
      transactionCompleteCallback: function (response) {
        delete answers[opId];
        emit(opId, "complete", response);
      }
    };
  }

  function loadScript(url) {
    return new Promise(function (resolve, reject) {
      var s = document.createElement("script");
      s.src = url;
      s.onload = function () { resolve(); };
      s.onerror = function () { reject(new Error("could not load iClient from " + url)); };
      document.head.appendChild(s);
    });
  }

  function connect(linkUrl) {
    return new Promise(function (resolve, reject) {
      var ws = new WebSocket(linkUrl);
      ws.onopen = function () { link = ws; resolve(true); };
      ws.onerror = function () { reject(new Error("could not connect to the daemon's page link")); };
      ws.onclose = function () { if (link === ws) { link = null; } };
      ws.onmessage = function (event) { command(JSON.parse(event.data)); };
    });
  }

  // One command from the daemon; answered {id, ok, value} or {id, ok: false, error} when it has an id.
  function command(message) {
    var reply = {id: message.id, ok: true, value: null};
    try {
      reply.value = COMMANDS[message.cmd].apply(null, message.args || []);
    } catch (e) {
      reply.ok = false;
      reply.error = String((e && e.message) || e);
    }
    if (message.id !== undefined) { send(reply); }
  }

  var COMMANDS = {
    // Start one operation; its outcome arrives as events. autoAnswers: option labels to answer
    // at once when a question offers them. Throws when iClient refuses synchronously, e.g.
    // "Transaction already in progress.".
    run: function (opId, method, request, autoAnswers) {
      var cbs = transactionCallbacks(opId, autoAnswers || []);
      switch (method) {
        case "initiateHealthPointClaim":
        case "initiateHealthPointRebateEstimate":
        case "cancelHealthPointClaim":
        case "initiatePurchase":
        case "initiateRefund":
          client[method](request, cbs);
          return true;
        case "continueLastTransaction":
          client.continueLastTransaction(cbs);
          return true;
        case "pairTerminal":
          client.pairTerminal(request.mid, request.tid, function (r) { emit(opId, "pairing", r); });
          return true;
        case "terminalInfo":
          client.terminalInfo(function (r) { emit(opId, "info", r); }, request);
          return true;
        case "healthpointReconciliationReport":
          client.healthpointReconciliationReport(request, function (r) { emit(opId, "report", r); });
          return true;
        default:
          throw new Error("unknown iClient method " + method);
      }
    },

    answer: function (opId, label) {
      var cb = answers[opId];
      if (!cb) { return false; }
      delete answers[opId];
      cb(label);
      return true;
    },

    abort: function () {
      try {
        client.cancelCurrentTransaction();
        return true;
      } catch (e) {
        return false;
      }
    },

    // The daemon no longer follows the operation: drop what it has not sent yet.
    finish: function (opId) {
      var p = pending[opId];
      if (p && p.timer) { clearTimeout(p.timer); }
      delete pending[opId];
      delete answers[opId];
      return true;
    }
  };

  window.claimbridge = {
    // Load iClient, build the client and connect to the daemon's page link; resolves to true.
    init: function (iclientUrl, apiKey, posProductData, linkUrl) {
      return loadScript(iclientUrl).then(function () {
        if (!window.TYRO || !window.TYRO.IClient) {
          throw new Error("iClient loaded from " + iclientUrl + " defines no TYRO.IClient");
        }
        client = new window.TYRO.IClient(apiKey, posProductData);
        return connect(linkUrl);
      });
    }
  };
})();
