#!/usr/bin/env node
// Decodes an OTLP ExportTraceServiceRequest (protobuf, optionally gzip) with the generated decoder
// shipped by @opentelemetry/otlp-transformer -- code taskman did not write -- and prints it as JSON:
// bytes as lowercase hex, 64-bit integers as decimal strings, enums as integers.
// Usage: node decode.cjs [FILE]   (stdin when FILE is absent or "-")
'use strict';
const fs = require('fs');
const zlib = require('zlib');
const path = require('path');

const rootPath = path.join(
  path.dirname(require.resolve('@opentelemetry/otlp-transformer/package.json')),
  'build/src/generated/root.js');
const root = require(rootPath);
const Request = root.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;

const file = process.argv[2];
let bytes = fs.readFileSync(file && file !== '-' ? file : 0);
const gzipped = bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
if (gzipped) bytes = zlib.gunzipSync(bytes);

let message;
try {
  message = Request.decode(bytes);
} catch (e) {
  process.stderr.write(`decode failed: ${e.message}\n`);
  process.exit(2);
}
const problem = Request.verify(message);
if (problem) {
  process.stderr.write(`verify failed: ${problem}\n`);
  process.exit(3);
}
// Re-encoding keeps exactly the fields the decoder understood: a different length means the input
// carried fields under numbers (or wire types) the schema does not know.
const reencodedLength = Request.encode(message).finish().length;

const toHex = (v) => Buffer.from(v).toString('hex');
function convert(v) {
  if (v instanceof Uint8Array) return toHex(v);
  if (Array.isArray(v)) return v.map(convert);
  if (v && typeof v === 'object') {
    const out = {};
    for (const [k, x] of Object.entries(v)) out[k] = convert(x);
    return out;
  }
  return v;
}
const object = Request.toObject(message, { longs: String, enums: Number, bytes: Uint8Array, oneofs: true });
process.stdout.write(JSON.stringify({
  gzipped,
  inputLength: bytes.length,
  reencodedLength,
  request: convert(object),
}) + '\n');
