// claimbridge host glue: the daemon's side of the page that runs Tyro's iClient.
// The daemon calls window.claimbridge.* through page.evaluate. Every iClient callback is queued
// per operation; the daemon collects them with next(opId), a Promise that resolves with all
// events queued so far (a long poll: cheaper than one Playwright binding call per event).
(function () {
  "use strict";

  var client = null;
  var answers = {}; // opId -> answerCallback of the pending question
  var queues = {};  // opId -> {events: [[type, payload], ...], waiter: resolve function or null}

  function queueFor(opId) {
    if (!queues[opId]) { queues[opId] = {events: [], waiter: null, timer: null}; }
    return queues[opId];
  }

  // Events the daemon must hear at once; status lines, receipts and questions the page has
  // already answered may wait a few milliseconds to travel together (fewer round trips through
  // Playwright: on a claim the daemon answers by policy, the whole claim is one batch).
  var URGENT = {question: true, complete: true, pairing: true, info: true, report: true};
  var BATCH_MS = 15;

  function isUrgent(event) {
    var type = event[0], payload = event[1];
    if (type === "question" && payload && payload.answered !== undefined) { return false; }
    return URGENT[type] === true;
  }

  function flush(opId) {
    var q = queues[opId];
    if (!q || !q.waiter || !q.events.length) { return; }
    var resolve = q.waiter;
    q.waiter = null;
    if (q.timer) { clearTimeout(q.timer); q.timer = null; }
    var batch = q.events.splice(0);
    // Nothing follows transactionCompleteCallback: the operation's queue goes with its last batch
    // (the daemon stops polling when it sees "complete" and has nothing to release).
    if (batch.some(function (e) { return e[0] === "complete"; })) { delete queues[opId]; }
    resolve(batch);
  }

  function emit(opId, type, payload) {
    var q = queueFor(opId);
    var event = [type, payload === undefined ? null : payload];
    q.events.push(event);
    if (isUrgent(event)) {
      flush(opId);
    } else if (q.waiter && !q.timer) {
      q.timer = setTimeout(function () { q.timer = null; flush(opId); }, BATCH_MS);
    }
  }

  // The answer the daemon gave in advance for this question, if any: the only option of an
  // error to acknowledge, or the claim's onApproved policy ("ACCEPT"/"REJECT" when offered).
  function automaticAnswer(question, autoAnswers) {
    var options = (question && question.options) || [];
    if (question && question.isError && options.length === 1) { return options[0]; }
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

  window.claimbridge = {
    // Load iClient and build the client; resolves to true when TYRO.IClient exists.
    init: function (iclientUrl, apiKey, posProductData) {
      return loadScript(iclientUrl).then(function () {
        if (!window.TYRO || !window.TYRO.IClient) {
          throw new Error("iClient loaded from " + iclientUrl + " defines no TYRO.IClient");
        }
        client = new window.TYRO.IClient(apiKey, posProductData);
        return true;
      });
    },

    // Start one operation. Returns at once; the outcome arrives through the binding.
    // autoAnswers: option labels to answer at once when a question offers them.
    // Throws (rejects) when iClient refuses synchronously, e.g. "Transaction already in progress.".
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

    // Resolves with every event of the operation queued since the last call (waits for one).
    next: function (opId) {
      var q = queueFor(opId);
      return new Promise(function (resolve) {
        q.waiter = resolve;
        var urgent = q.events.some(isUrgent);
        if (urgent) {
          flush(opId);
        } else if (q.events.length && !q.timer) {
          q.timer = setTimeout(function () { q.timer = null; flush(opId); }, BATCH_MS);
        }
      });
    },

    // The daemon no longer follows the operation: release its queue and any waiting poll.
    finish: function (opId) {
      var q = queues[opId];
      delete queues[opId];
      if (q && q.timer) { clearTimeout(q.timer); }
      if (q && q.waiter) { q.waiter([]); }
      return true;
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
    }
  };
})();
