// Send HL7 messages to an MLLP listener with simple-hl7 (an independent npm implementation)
// and print what came back, one JSON object per ACK.
//   node send.js HOST PORT < messages.json     (a JSON array of message strings)
"use strict";
const hl7 = require("simple-hl7");

const [host, port] = process.argv.slice(2);
const messages = JSON.parse(require("fs").readFileSync(0, "utf8"));
const parser = new hl7.Parser({ segmentSeperator: "\r" });
const client = hl7.Server.createTcpClient({ host, port: Number(port), keepalive: true });
const out = [];

function next(i) {
  if (i === messages.length) {
    client.close();
    process.stdout.write(JSON.stringify(out));
    return;
  }
  // Parsed and re-serialised by simple-hl7 itself, so its own encoding is what we receive.
  const message = parser.parse(messages[i]);
  client.send(message, (err, ack) => {
    if (err) {
      process.stderr.write(String(err));
      process.exit(2);
    }
    const msa = ack.getSegment("MSA");
    out.push({ code: msa.getField(1), control_id: msa.getField(2) });
    setImmediate(() => next(i + 1)); // simple-hl7 clears its busy flag after the callback
  });
}
next(0);
