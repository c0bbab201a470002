// Sends a request body gzipped the way Claude Code builds large ones: one
// gzip stream written block by block, each block sync-flushed, with Node's
// own zlib, over Node's fetch with Content-Encoding: gzip.
//   URL=http://127.0.0.1:PORT/v1/messages BODY=file node gzip-fetch.cjs
'use strict';
const fs = require('fs');
const zlib = require('zlib');

async function gzipInBlocks(body, block) {
    const gz = zlib.createGzip();
    const parts = [];
    gz.on('data', (d) => parts.push(d));
    const done = new Promise((resolve, reject) => {
        gz.on('end', resolve);
        gz.on('error', reject);
    });
    for (let at = 0; at < body.length; at += block) {
        gz.write(body.subarray(at, at + block));
        await new Promise((resolve) => gz.flush(zlib.constants.Z_SYNC_FLUSH, resolve));
    }
    gz.end();
    await done;
    return Buffer.concat(parts);
}

(async () => {
    const body = fs.readFileSync(process.env.BODY);
    const wire = await gzipInBlocks(body, 64 * 1024);
    const res = await fetch(process.env.URL, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
        body: wire,
    });
    const text = await res.text();
    process.stdout.write(JSON.stringify({ status: res.status, wire: wire.length, body: body.length,
                                          encoding: res.headers.get('x-encoding'), text }));
})().catch((e) => {
    console.error(e);
    process.exit(1);
});
