// Compiles Solidity with the pinned npm `solc` (solcjs): standard JSON input on stdin, standard JSON
// output on stdout. Run by control-plane/chain's build.rs; `npm ci` in this folder installs solc.
"use strict";
const solc = require("solc");

const chunks = [];
process.stdin.on("data", (chunk) => chunks.push(chunk));
process.stdin.on("end", () => {
    process.stdout.write(solc.compile(Buffer.concat(chunks).toString("utf8")));
});
