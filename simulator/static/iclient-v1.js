/*
 * claimbridge simulator: a TYRO.IClient look-alike.
 *
 * Written from Tyro's documented iClient API (see simulator/README.md); no Tyro code is used.
 * The simulator serves this file as a template: it replaces the base-URL placeholder below with
 * the URL the request came in on (ending in "/"). Every operation adds a hidden iframe
 * (<base>iclient.html) and talks to it with JSON strings over window.postMessage, in the same
 * jschannel-style wire format as Tyro's library (scope "tyroIclient").
 */
(function (global) {
  'use strict';

  var PLACEHOLDER_BASE_URL = '__CLAIMBRIDGE_SIM_BASE_URL__';
  var SCOPE = 'tyroIclient';
  var IFRAME_ID = 'iclient-headless-iframe';
  var TRANSACTION_CALLBACKS = ['transactionCompleteCallback', 'questionCallback', 'statusMessageCallback'];

  /** The base URL the iframe is loaded from, always ending in "/". */
  function resolveBaseUrl() {
    var base = PLACEHOLDER_BASE_URL;
    if (base.indexOf('__CLAIMBRIDGE') === 0) {
      // Served without substitution (e.g. opened as a file): use this script's own folder.
      var script = global.document && global.document.currentScript;
      base = script && script.src ? script.src.replace(/[^/]*$/, '') : global.location.href.replace(/[^/]*$/, '');
    }
    return base.charAt(base.length - 1) === '/' ? base : base + '/';
  }

  var BASE_URL = resolveBaseUrl();
  var BASE_ORIGIN = new URL(BASE_URL).origin;

  function isFunction(value) {
    return typeof value === 'function';
  }

  function isDigits(value, allowZero) {
    if (typeof value !== 'string' || !/^[0-9]+$/.test(value)) {
      return false;
    }
    return allowZero ? true : value.charAt(0) !== '0';
  }

  function assign(target) {
    for (var i = 1; i < arguments.length; i += 1) {
      var source = arguments[i];
      if (source) {
        Object.keys(source).forEach(function (key) {
          target[key] = source[key];
        });
      }
    }
    return target;
  }

  function report(error) {
    // A POS callback that throws must not break the channel; surface it like an uncaught error.
    if (global.console && global.console.error) {
      global.console.error(error);
    }
  }

  function safeCall(fn, args) {
    try {
      fn.apply(null, args);
    } catch (error) {
      report(error);
    }
  }

  /**
   * One operation's link to the hidden iframe: creation, handshake, queued sends, teardown.
   *
   * @param {IClient} client owner; its current channel is cleared on teardown.
   * @param {Object<string, Function>} handlers notify name (without scope) -> handler(params, channel).
   */
  function Channel(client, handlers) {
    this.client = client;
    this.handlers = handlers;
    this.ready = false;
    this.closed = false;
    this.queue = [];
    this.nextId = 1;
    this.pendingCalls = {};
    var doc = client.documentToBindTo;
    var origin = global.location.protocol + '//' + global.location.host;
    this.iframe = doc.createElement('iframe');
    this.iframe.id = IFRAME_ID;
    this.iframe.style.display = 'none';
    this.iframe.src = BASE_URL + 'iclient.html?apiKey=' + client.apiKey +
      '&originOfPos=' + encodeURIComponent(origin);
    this.listener = this.onMessage.bind(this);
    global.addEventListener('message', this.listener, false);
    (doc.body || doc.documentElement).appendChild(this.iframe);
  }

  Channel.prototype.post = function (message) {
    var target = this.iframe && this.iframe.contentWindow;
    if (target) {
      target.postMessage(JSON.stringify(message), BASE_ORIGIN);
    }
  };

  Channel.prototype.send = function (message) {
    if (this.closed) {
      return;
    }
    if (this.ready) {
      this.post(message);
    } else {
      this.queue.push(message);
    }
  };

  /** Send a notification: {method: "tyroIclient::<name>", params}. */
  Channel.prototype.notify = function (name, params) {
    var message = { method: SCOPE + '::' + name };
    if (params !== undefined) {
      message.params = params;
    }
    this.send(message);
  };

  /** Send a request: {id, method: "tyroIclient::<name>"}; callback(error, result). */
  Channel.prototype.call = function (name, callback) {
    var id = this.nextId;
    this.nextId += 1;
    this.pendingCalls[id] = callback;
    this.send({ id: id, method: SCOPE + '::' + name });
  };

  Channel.prototype.onMessage = function (event) {
    if (this.closed || !this.iframe || event.source !== this.iframe.contentWindow || event.origin !== BASE_ORIGIN) {
      return;
    }
    if (typeof event.data !== 'string') {
      return;
    }
    var message;
    try {
      message = JSON.parse(event.data);
    } catch (error) {
      return;
    }
    if (!message || typeof message !== 'object') {
      return;
    }
    if (message.method === SCOPE + '::__ready') {
      if (message.params === 'ping' && !this.ready) {
        this.ready = true;
        this.post({ method: SCOPE + '::__ready', params: 'pong' });
        var queued = this.queue;
        this.queue = [];
        queued.forEach(this.post, this);
      }
      return;
    }
    if (message.id !== undefined && message.method === undefined) {
      var callback = this.pendingCalls[message.id];
      if (callback) {
        delete this.pendingCalls[message.id];
        if ('error' in message) {
          callback(message.error, undefined);
        } else {
          callback(null, message.result);
        }
      }
      return;
    }
    if (typeof message.method !== 'string' || message.method.indexOf(SCOPE + '::') !== 0) {
      return;
    }
    var name = message.method.slice(SCOPE.length + 2);
    var handler = this.handlers[name];
    if (handler) {
      handler.call(null, message.params, this);
    }
  };

  /** Remove the iframe and the listener; the client may start another operation afterwards. */
  Channel.prototype.teardown = function () {
    if (this.closed) {
      return;
    }
    this.closed = true;
    global.removeEventListener('message', this.listener, false);
    if (this.iframe && this.iframe.parentNode) {
      this.iframe.parentNode.removeChild(this.iframe);
    }
    this.iframe = null;
    this.queue = [];
    this.pendingCalls = {};
    if (this.client.channel === this) {
      this.client.channel = null;
    }
  };

  /**
   * Headless iClient.
   *
   * @param {string} apiKey non-empty API key.
   * @param {{posProductName: string, posProductVendor: string, posProductVersion: string}} posProductData
   * @param {Document} [documentToBindTo] document the hidden iframe is added to (default: document).
   */
  function IClient(apiKey, posProductData, documentToBindTo) {
    if (typeof apiKey !== 'string' || apiKey.length === 0) {
      throw new TypeError('API key needs to be provided');
    }
    if (!posProductData || typeof posProductData !== 'object' || !posProductData.posProductName ||
        !posProductData.posProductVendor || !posProductData.posProductVersion) {
      throw new TypeError('POS data needs to be provided');
    }
    this.apiKey = apiKey;
    this.posProductData = posProductData;
    this.documentToBindTo = documentToBindTo || global.document;
    this.channel = null;
  }

  IClient.prototype.openChannel = function (handlers) {
    if (this.channel) {
      throw new Error('Transaction already in progress.');
    }
    this.channel = new Channel(this, handlers);
    return this.channel;
  };

  IClient.prototype.validateTransactionCallbacks = function (methodName, requestParams, callbacks) {
    var cbs = callbacks || {};
    TRANSACTION_CALLBACKS.forEach(function (name) {
      if (!isFunction(cbs[name])) {
        throw new TypeError(methodName + ': ' + name + ' must be a function');
      }
    });
    if (typeof requestParams.integratedReceipt !== 'boolean') {
      throw new TypeError(methodName + ': integratedReceipt must be a boolean');
    }
    if (requestParams.integratedReceipt === true && !isFunction(cbs.receiptCallback)) {
      throw new TypeError(methodName + ': receiptCallback must be a function');
    }
  };

  /** Handlers shared by every terminal transaction (purchase, refund, HealthPoint, continue). */
  function transactionHandlers(callbacks) {
    var completed = false;
    return {
      transactionStatus: function (message) {
        safeCall(callbacks.statusMessageCallback, [message]);
      },
      question: function (question, channel) {
        var answerCallback = function (answer) {
          channel.notify('answerQuestion', answer);
        };
        safeCall(callbacks.questionCallback, [question, answerCallback]);
      },
      receiptReceived: function (receipt) {
        if (isFunction(callbacks.receiptCallback)) {
          safeCall(callbacks.receiptCallback, [receipt]);
        }
      },
      transactionComplete: function (response, channel) {
        channel.teardown();
        if (completed) {
          return;
        }
        completed = true;
        safeCall(callbacks.transactionCompleteCallback, [response]);
      }
    };
  }

  /** Open the channel of a (validated) terminal transaction and send its request. */
  IClient.prototype.startTransaction = function (wireName, params, callbacks, extra) {
    var channel = this.openChannel(transactionHandlers(callbacks));
    channel.notify(wireName, assign({}, params, { posProductData: this.posProductData }, extra));
  };

  IClient.prototype.startHealthPoint = function (methodName, type, requestParams, callbacks) {
    // HealthPoint requests are not validated here: the terminal does it.
    var params = assign({}, requestParams || {}, { integratedReceipt: false });
    this.validateTransactionCallbacks(methodName, params, callbacks);
    this.startTransaction(type, params, callbacks, { type: type });
  };

  IClient.prototype.initiateHealthPointClaim = function (requestParams, transactionCallbacks) {
    this.startHealthPoint('initiateHealthPointClaim', 'healthpointClaim', requestParams, transactionCallbacks);
  };

  IClient.prototype.initiateHealthPointRebateEstimate = function (requestParams, transactionCallbacks) {
    this.startHealthPoint('initiateHealthPointRebateEstimate', 'healthpointRebateEstimate', requestParams,
      transactionCallbacks);
  };

  IClient.prototype.cancelHealthPointClaim = function (requestParams, transactionCallbacks) {
    this.startHealthPoint('cancelHealthPointClaim', 'healthpointCancel', requestParams, transactionCallbacks);
  };

  function checkPaymentRequest(methodName, requestParams, allowCashout) {
    if (!isDigits(requestParams.amount, false)) {
      throw new TypeError(methodName + ': amount must be a string of digits without a leading 0');
    }
    if (allowCashout && requestParams.cashout !== undefined && !isDigits(requestParams.cashout, true)) {
      throw new TypeError(methodName + ': cashout must be a string of digits');
    }
    if (requestParams.integratedReceiptWidth !== undefined && !isDigits(requestParams.integratedReceiptWidth, false)) {
      throw new TypeError(methodName + ': integratedReceiptWidth must be a string of digits without a leading 0');
    }
  }

  IClient.prototype.initiatePurchase = function (requestParams, transactionCallbacks) {
    var params = requestParams || {};
    this.validateTransactionCallbacks('initiatePurchase', params, transactionCallbacks);
    checkPaymentRequest('initiatePurchase', params, true);
    this.startTransaction('purchase', params, transactionCallbacks);
  };

  IClient.prototype.initiateRefund = function (requestParams, transactionCallbacks) {
    var params = requestParams || {};
    this.validateTransactionCallbacks('initiateRefund', params, transactionCallbacks);
    checkPaymentRequest('initiateRefund', params, false);
    this.startTransaction('refund', params, transactionCallbacks);
  };

  IClient.prototype.continueLastTransaction = function (transactionCallbacks) {
    this.validateTransactionCallbacks('continueLastTransaction', { integratedReceipt: false }, transactionCallbacks);
    var channel = this.openChannel(transactionHandlers(transactionCallbacks));
    channel.notify('continueLastTransaction');
  };

  IClient.prototype.cancelCurrentTransaction = function () {
    if (!this.channel) {
      throw new Error('cancelCurrentTransaction: There is no in-progress transaction to cancel.');
    }
    this.channel.notify('cancelTransaction');
  };

  function requireCallback(methodName, callback) {
    if (!isFunction(callback)) {
      throw new TypeError(methodName + ': callback must be a function');
    }
  }

  /** Open a channel whose single callback repeats until a status other than "inProgress". */
  IClient.prototype.startStatusChannel = function (responseName, callback) {
    var handlers = {};
    handlers[responseName] = function (response, channel) {
      var inProgress = response && response.status === 'inProgress';
      if (!inProgress) {
        channel.teardown();
      }
      safeCall(callback, [response]);
    };
    return this.openChannel(handlers);
  };

  IClient.prototype.pairTerminal = function (mid, tid, callback) {
    requireCallback('pairTerminal', callback);
    var channel = this.startStatusChannel('pairingStatus', callback);
    channel.notify('pairTerminal', { mid: mid, tid: tid, posProductData: this.posProductData });
  };

  IClient.prototype.terminalInfo = function (callback, requestParams) {
    requireCallback('terminalInfo', callback);
    var channel = this.startStatusChannel('terminalInfoResponse', callback);
    channel.notify('terminalInfo', assign({}, requestParams || {}, { posProductData: this.posProductData }));
  };

  IClient.prototype.healthpointReconciliationReport = function (requestParams, callback) {
    requireCallback('healthpointReconciliationReport', callback);
    var channel = this.startStatusChannel('healthpointReconciliationReportResponse', callback);
    channel.notify('healthpointReconciliationReport',
      assign({}, requestParams || {}, { posProductData: this.posProductData }));
  };

  IClient.prototype.reconciliationReport = function (requestParams, callback) {
    requireCallback('reconciliationReport', callback);
    var params = requestParams || {};
    var problem = null;
    if (typeof params.terminalBusinessDay !== 'string' || !/^[0-9]{8}$/.test(params.terminalBusinessDay)) {
      problem = 'terminalBusinessDay must be in the format yyyyMMdd';
    } else if (params.type !== 'summary' && params.type !== 'detail') {
      problem = 'type must be summary or detail';
    } else if (params.format !== 'xml' && params.format !== 'txt') {
      problem = 'format must be xml or txt';
    }
    if (problem) {
      safeCall(callback, [{ result: 'failure', error: problem }]);
      throw new TypeError('reconciliationReport: ' + problem);
    }
    var wire = assign({}, params, { reportType: params.type, reportFormat: params.format,
      posProductData: this.posProductData });
    delete wire.type;
    delete wire.format;
    var channel = this.startStatusChannel('reconciliationReportResponse', callback);
    channel.notify('reconciliationReport', wire);
  };

  IClient.prototype.getConfiguration = function (callback) {
    requireCallback('getConfiguration', callback);
    var channel = this.openChannel({});
    channel.call('getConfiguration', function (error, result) {
      channel.teardown();
      safeCall(callback, [error ? { error: error } : result]);
    });
  };

  var TYRO = global.TYRO || {};
  TYRO.IClient = IClient;
  global.TYRO = TYRO;
}(window));
