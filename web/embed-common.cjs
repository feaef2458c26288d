// What the two embedding steps of the build share (web/docs/embed-docs.cjs for /docs and
// web/admin/embed-console.cjs for the staff console): asset names that carry a hash of their
// content, C++ string literals, and writing a generated file only when it changed.
"use strict";

const crypto = require("crypto");
const fs = require("fs");
const path = require("path");

// {name, hashed: "console.3f2a1b4c5d6e.js", type, body}: a new content gets a new name, so a
// browser may cache each asset for ever.
function hashedAsset(name, type, body) {
  const hash = crypto.createHash("sha256").update(body).digest("hex").slice(0, 12);
  const dot = name.lastIndexOf(".");
  return { name, hashed: `${name.slice(0, dot)}.${hash}${name.slice(dot)}`, type, body };
}

// A C++ string literal split over lines; octal escapes (always three digits) for anything that is
// not printable ASCII, and for '?' so no trigraph can form.
function literal(buffer) {
  const lines = [];
  let line = "";
  for (const byte of buffer) {
    if (byte === 0x22) line += '\\"';
    else if (byte === 0x5c) line += "\\\\";
    else if (byte >= 0x20 && byte < 0x7f && byte !== 0x3f) line += String.fromCharCode(byte);
    else line += "\\" + byte.toString(8).padStart(3, "0");
    if (line.length >= 120 || byte === 0x0a) {
      lines.push(`"${line}"`);
      line = "";
    }
  }
  if (line.length || lines.length === 0) lines.push(`"${line}"`);
  return lines.join("\n    ");
}

// The C++ of the assets: a literal for each, then the kAssets table (namespace-scope Asset
// {hashed name, type, body}) that names them.
function assetDefinitions(assets) {
  let cpp = "";
  assets.forEach((a, i) => {
    cpp += `const char kAsset${i}[] =\n    ${literal(a.body)};\n`;
  });
  return `${cpp}
const Asset kAssets[] = {
${assets.map((a, i) => `    {"${a.hashed}", "${a.type}", {kAsset${i}, sizeof kAsset${i} - 1}},`).join("\n")}
};
`;
}

// Leaves an unchanged file alone, so the build does not recompile its C++ for nothing.
function writeIfChanged(file, content) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  if (fs.existsSync(file) && fs.readFileSync(file).equals(Buffer.from(content))) return;
  fs.writeFileSync(file + ".tmp", content);
  fs.renameSync(file + ".tmp", file);
}

module.exports = { assetDefinitions, hashedAsset, literal, writeIfChanged };
