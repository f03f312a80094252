// Preloaded with `node -r` under the conformance suite's client runs: every
// server the suite starts with listen(port) or listen() binds 127.0.0.1 at
// once. loopback.cjs gives listen a host, which makes Node bind after a
// lookup, later; the client scenarios' servers read address().port right
// after listen(), so here the socket is bound first (a bound TCP handle
// handed to listen, which then takes effect at once). Calls that name a
// host, a path or a handle are left alone, except the wildcard hosts, which
// become 127.0.0.1 as in loopback.cjs.
'use strict';
const net = require('node:net');

const LOOPBACK = '127.0.0.1';
const WILDCARD = new Set(['', '0.0.0.0', '::', '::0']);
const original = net.Server.prototype.listen;
const { TCP, constants } = process.binding('tcp_wrap');

function isPort(v) {
  return typeof v === 'number' || (typeof v === 'string' && /^\d+$/.test(v));
}

// A TCP handle bound to 127.0.0.1:port; throws like listen would.
function boundHandle(port) {
  const h = new TCP(constants.SERVER);
  const err = h.bind(LOOPBACK, Number(port));
  if (err) {
    h.close();
    const e = new Error(`listen ${LOOPBACK}:${port} failed (${err})`);
    e.code = 'EADDRINUSE';
    throw e;
  }
  return h;
}

net.Server.prototype.listen = function listenOnLoopbackNow(...args) {
  const a = Array.from(args);
  if (a.length === 0 || typeof a[0] === 'function') a.unshift(0);
  if (isPort(a[0]) && (a.length < 2 || typeof a[1] === 'function' ||
                       a[1] == null || WILDCARD.has(a[1]))) {
    const cb = a.find((x) => typeof x === 'function');
    return original.call(this, { handle: boundHandle(a[0]) }, cb);
  }
  if (a[0] !== null && typeof a[0] === 'object' && isPort(a[0].port) &&
      !a[0].path && !a[0].fd && !a[0]._handle && !a[0].handle &&
      (a[0].host == null || WILDCARD.has(a[0].host))) {
    const cb = a.find((x) => typeof x === 'function');
    return original.call(this, { handle: boundHandle(a[0].port) }, cb);
  }
  return original.apply(this, a);
};
