#!/usr/bin/env node
// Build step (run by CMake): converts docs/openapi.yaml to JSON, checks that its $refs resolve, and
// writes a C++ source holding that JSON, the /docs page and the Swagger UI files it loads, so the
// binary serves them without its source tree, node_modules or any network.
//
//   node embed-docs.cjs --node-modules DIR --spec docs/openapi.yaml --web web/docs \
//                       --json OUT/openapi.json --cpp OUT/docs_embedded.cpp
"use strict";
const crypto = require("crypto");
const fs = require("fs");
const path = require("path");

function args() {
  const out = {};
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i += 2) {
    if (!argv[i].startsWith("--") || argv[i + 1] === undefined) throw new Error(`bad argument ${argv[i]}`);
    out[argv[i].slice(2)] = argv[i + 1];
  }
  for (const name of ["node-modules", "spec", "web", "json", "cpp"]) {
    if (!out[name]) throw new Error(`missing --${name}`);
  }
  return out;
}

// Every "$ref": "#/a/b" must point at something, or the docs page shows a broken schema.
function checkRefs(doc) {
  const missing = [];
  const walk = (node, where) => {
    if (Array.isArray(node)) return node.forEach((v, i) => walk(v, `${where}/${i}`));
    if (node === null || typeof node !== "object") return;
    for (const [key, value] of Object.entries(node)) {
      if (key === "$ref" && typeof value === "string") {
        let target = doc;
        for (const part of value.replace(/^#\//, "").split("/")) {
          const name = part.replace(/~1/g, "/").replace(/~0/g, "~");
          target = target && typeof target === "object" ? target[name] : undefined;
        }
        if (!value.startsWith("#/") || target === undefined) missing.push(`${where}: ${value}`);
      } else {
        walk(value, `${where}/${key}`);
      }
    }
  };
  walk(doc, "#");
  if (missing.length) throw new Error(`unresolved $ref in the OpenAPI document:\n  ${missing.join("\n  ")}`);
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

function writeIfChanged(file, content) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  if (fs.existsSync(file) && fs.readFileSync(file).equals(Buffer.from(content))) return;
  fs.writeFileSync(file + ".tmp", content);
  fs.renameSync(file + ".tmp", file);
}

function main() {
  const opt = args();
  const yaml = require(path.join(path.resolve(opt["node-modules"]), "js-yaml"));
  const swagger = path.join(path.resolve(opt["node-modules"]), "swagger-ui-dist");

  // CORE_SCHEMA: no YAML timestamps (an example "2024-05-04T12:00:00.123456Z" stays a string).
  const doc = yaml.load(fs.readFileSync(opt.spec, "utf8"), { schema: yaml.CORE_SCHEMA, filename: opt.spec });
  if (!doc || typeof doc.openapi !== "string" || !doc.openapi.startsWith("3.1")) {
    throw new Error(`${opt.spec}: expected an OpenAPI 3.1 document`);
  }
  checkRefs(doc);
  const json = JSON.stringify(doc, null, 2) + "\n";
  writeIfChanged(opt.json, json);

  // The page's files, named after their content so they can be cached for good. The source map
  // comments go: the maps are not served, and a browser's devtools would ask for them.
  const stripMap = (buffer) => Buffer.from(buffer.toString("utf8").replace(/\n?\/[/*]# sourceMappingURL=\S+( \*\/)?\s*$/, "\n"));
  const sources = [
    ["swagger-ui-bundle.js", "application/javascript; charset=utf-8", stripMap(fs.readFileSync(path.join(swagger, "swagger-ui-bundle.js")))],
    ["swagger-ui.css", "text/css; charset=utf-8", stripMap(fs.readFileSync(path.join(swagger, "swagger-ui.css")))],
    ["favicon-32x32.png", "image/png", fs.readFileSync(path.join(swagger, "favicon-32x32.png"))],
    ["init.js", "application/javascript; charset=utf-8", fs.readFileSync(path.join(opt.web, "init.js"))],
  ];
  const assets = sources.map(([name, type, body]) => {
    const hash = crypto.createHash("sha256").update(body).digest("hex").slice(0, 12);
    const dot = name.indexOf(".");
    return { name, hashed: `${name.slice(0, dot)}.${hash}${name.slice(dot)}`, type, body };
  });
  // The template's comments are for its readers, not for browsers.
  let html = fs.readFileSync(path.join(opt.web, "index.html"), "utf8").replace(/<!--[\s\S]*?-->\n?/g, "");
  html = html.replace(/\{\{asset:([^}]+)\}\}/g, (_, name) => {
    const asset = assets.find((a) => a.name === name);
    if (!asset) throw new Error(`index.html names an unknown asset ${name}`);
    return asset.hashed;
  });
  const version = JSON.parse(fs.readFileSync(path.join(swagger, "package.json"), "utf8")).version;

  let cpp = `// Generated by web/docs/embed-docs.cjs from docs/openapi.yaml, web/docs and swagger-ui-dist ${version}.
// Do not edit.
#include "docs/embedded.hpp"

#pragma GCC diagnostic ignored "-Woverlength-strings"

namespace docs {
namespace {

const char kOpenapiJson[] =
    ${literal(Buffer.from(json))};
const char kIndexHtml[] =
    ${literal(Buffer.from(html))};
`;
  assets.forEach((a, i) => {
    cpp += `const char kAsset${i}[] =\n    ${literal(a.body)};\n`;
  });
  cpp += `
const Asset kAssets[] = {
${assets.map((a, i) => `    {"${a.hashed}", "${a.type}", {kAsset${i}, sizeof kAsset${i} - 1}},`).join("\n")}
};

}  // namespace

std::string_view openapi_json() { return {kOpenapiJson, sizeof kOpenapiJson - 1}; }
std::string_view index_html() { return {kIndexHtml, sizeof kIndexHtml - 1}; }
std::span<const Asset> assets() { return kAssets; }
std::string_view swagger_ui_version() { return "${version}"; }

}  // namespace docs
`;
  writeIfChanged(opt.cpp, cpp);
}

try {
  main();
} catch (e) {
  console.error(`embed-docs: ${e.message}`);
  process.exit(1);
}
