// claimbridge host glue: the daemon's side of the page that runs Tyro's iClient.
// The daemon calls window.claimbridge.* through page.evaluate; every iClient callback goes
// back through the binding window.claimbridgeEvent(opId, type, payload).
(function () {
  "use strict";

  var client = null;
  var answers = {}; // opId -> answerCallback of the pending question

  function emit(opId, type, payload) {
    // The binding returns a Promise; errors there are the daemon's to log, not the page's.
    window.claimbridgeEvent(opId, type, payload === undefined ? null : payload).catch(function () {});
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
