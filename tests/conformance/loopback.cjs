// Preloaded with `node -r` under the conformance suite: every listening
// socket it opens binds to 127.0.0.1. Some of the suite's scenario servers
// call listen(port) with no host, which Node binds to every interface; here
// listen(port), listen(), listen(port, cb), listen({port}) and the wildcard
// hosts ('', '0.0.0.0', '::') all become 127.0.0.1. Unix-socket paths and
// handles are left alone. http, https and express servers inherit
// net.Server.prototype.listen, so patching it covers them all.
'use strict';
const net = require('node:net');

const LOOPBACK = '127.0.0.1';
const WILDCARD = new Set(['', '0.0.0.0', '::', '::0']);
const original = net.Server.prototype.listen;

function isPort(v) {
  return typeof v === 'number' || (typeof v === 'string' && /^\d+$/.test(v));
}

// Returns listen's arguments with the host forced to loopback.
function rewrite(args) {
  const a = Array.from(args);
  if (a.length === 0 || typeof a[0] === 'function') {
    a.unshift(0); // listen() / listen(cb): an ephemeral port
  }
  if (isPort(a[0])) {
    if (typeof a[1] === 'string' || a[1] === null || a[1] === undefined) {
      if (a.length < 2 || a[1] == null || WILDCARD.has(a[1])) a[1] = LOOPBACK;
    } else {
      a.splice(1, 0, LOOPBACK); // listen(port, backlog?, cb?)
    }
    return a;
  }
  if (a[0] !== null && typeof a[0] === 'object' && !a[0].path &&
      !a[0].fd && !a[0]._handle && !a[0].handle) {
    const opts = { ...a[0] };
    if (opts.host == null || WILDCARD.has(opts.host)) opts.host = LOOPBACK;
    a[0] = opts;
  }
  return a;
}

net.Server.prototype.listen = function listenOnLoopback(...args) {
  return original.apply(this, rewrite(args));
};
